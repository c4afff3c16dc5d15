"""The built-in toy IceCube simulator: physics in light.py, events in simulator.py."""

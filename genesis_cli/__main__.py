"""``python -m genesis_cli``: the same as the ``genesis`` command."""

from genesis_cli.cli.app import main

if __name__ == "__main__":
    main()

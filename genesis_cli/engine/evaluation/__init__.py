"""Physics evaluation of generated events: observables, distances, classifier tests, reports."""

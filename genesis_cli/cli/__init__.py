"""Thin Typer command modules: parse arguments, call the engine, render the result."""

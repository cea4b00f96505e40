"""Reporters render a Report; they never decide what is a finding."""

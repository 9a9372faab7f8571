"""Schedules, cycles and the watchdog (a surface): runs that start themselves and never get stuck.

See docs/schedules.md.
"""

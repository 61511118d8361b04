"""Faults and their schedules: the nemesis."""

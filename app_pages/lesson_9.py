"""Lesson 9: see rnnviz/lessons.py for its text and rnnviz/ui/lessons for its figures."""
from rnnviz.ui.lessons import show

show("lesson-recurrence-returns")

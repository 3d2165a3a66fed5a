"""Paths shared by the Python tests; importing it puts models/ on sys.path."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(ROOT, 'models')
if MODELS not in sys.path:
    sys.path.insert(0, MODELS)

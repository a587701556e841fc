"""Task modules: thin adapters that read arguments, own the transaction and call the core."""

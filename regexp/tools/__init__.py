"""The source documents' tools: loss landscapes, fixing a model's units, EWMA curves."""

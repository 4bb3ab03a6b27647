"""The source documents' tools: loss landscapes, model surgery, EWMA curves."""

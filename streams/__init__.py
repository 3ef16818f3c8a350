"""The pipeline: the pure engine, the Faust worker and kafka-python shells, CLI and wiring."""

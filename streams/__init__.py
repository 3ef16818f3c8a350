"""Stream processors, the attribution engine, replay and the ``leadclock`` CLI."""

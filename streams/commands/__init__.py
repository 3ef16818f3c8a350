"""Long-running commands wired from the rooms: replay (file or topics, in parallel), versions."""

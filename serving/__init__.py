"""The HTTP API and web page (Flask), thin over include/hellohome."""

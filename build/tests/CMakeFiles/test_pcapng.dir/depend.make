# Empty dependencies file for test_pcapng.
# This may be replaced when dependencies are built.

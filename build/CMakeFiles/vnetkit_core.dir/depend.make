# Empty dependencies file for vnetkit_core.
# This may be replaced when dependencies are built.

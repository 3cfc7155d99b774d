# Empty dependencies file for vnetkit.
# This may be replaced when dependencies are built.

file(REMOVE_RECURSE
  "libvnetkit_core.a"
)

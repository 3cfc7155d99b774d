file(REMOVE_RECURSE
  "CMakeFiles/vnetkit.dir/cli/common.c.o"
  "CMakeFiles/vnetkit.dir/cli/common.c.o.d"
  "CMakeFiles/vnetkit.dir/cli/main.c.o"
  "CMakeFiles/vnetkit.dir/cli/main.c.o.d"
  "CMakeFiles/vnetkit.dir/cli/replay.c.o"
  "CMakeFiles/vnetkit.dir/cli/replay.c.o.d"
  "CMakeFiles/vnetkit.dir/cli/run.c.o"
  "CMakeFiles/vnetkit.dir/cli/run.c.o.d"
  "vnetkit"
  "vnetkit.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/vnetkit.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()

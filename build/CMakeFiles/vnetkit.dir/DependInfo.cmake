
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/cli/common.c" "CMakeFiles/vnetkit.dir/cli/common.c.o" "gcc" "CMakeFiles/vnetkit.dir/cli/common.c.o.d"
  "/work/main/cli/main.c" "CMakeFiles/vnetkit.dir/cli/main.c.o" "gcc" "CMakeFiles/vnetkit.dir/cli/main.c.o.d"
  "/work/main/cli/replay.c" "CMakeFiles/vnetkit.dir/cli/replay.c.o" "gcc" "CMakeFiles/vnetkit.dir/cli/replay.c.o.d"
  "/work/main/cli/run.c" "CMakeFiles/vnetkit.dir/cli/run.c.o" "gcc" "CMakeFiles/vnetkit.dir/cli/run.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/CMakeFiles/vnetkit_core.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")

file(REMOVE_RECURSE
  "CMakeFiles/test_pcapng.dir/unit/test_pcapng.c.o"
  "CMakeFiles/test_pcapng.dir/unit/test_pcapng.c.o.d"
  "test_pcapng"
  "test_pcapng.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_pcapng.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()

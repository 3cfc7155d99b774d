# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test(unit.test_pcapng "/work/main/build/tests/test_pcapng")
set_tests_properties(unit.test_pcapng PROPERTIES  ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;22;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(e2e.test_grammar_errors "bash" "/work/main/tests/e2e/test_grammar_errors.sh" "/work/main/build/vnetkit" "/work/main" "/work/main/build/tests/e2e-work/test_grammar_errors")
set_tests_properties(e2e.test_grammar_errors PROPERTIES  SKIP_RETURN_CODE "77" TIMEOUT "300" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;30;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(e2e.test_run_hub "bash" "/work/main/tests/e2e/test_run_hub.sh" "/work/main/build/vnetkit" "/work/main" "/work/main/build/tests/e2e-work/test_run_hub")
set_tests_properties(e2e.test_run_hub PROPERTIES  SKIP_RETURN_CODE "77" TIMEOUT "300" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;30;add_test;/work/main/tests/CMakeLists.txt;0;")

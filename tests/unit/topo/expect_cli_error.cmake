# Runs `EXE ARGS...` and checks that it fails with exit code EXPECT_EXIT and that stderr contains
# EXPECT_STDERR. Usage (from add_test):
#   cmake -DEXE=<tspemu> "-DARGS=topo;file.toml" -DEXPECT_EXIT=2 "-DEXPECT_STDERR=text" -P this file
execute_process(COMMAND ${EXE} ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc STREQUAL EXPECT_EXIT)
  message(FATAL_ERROR "expected exit code ${EXPECT_EXIT}, got '${rc}'\nstdout: ${out}\nstderr: ${err}")
endif()
string(FIND "${err}" "${EXPECT_STDERR}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "stderr lacks the expected message\n  expected: ${EXPECT_STDERR}\n  stderr:   ${err}")
endif()

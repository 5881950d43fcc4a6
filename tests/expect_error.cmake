# Runs a command and checks that it fails the way it should: its exit code is EXPECT_CODE and its
# stderr contains EXPECT_TEXT (a plain substring, not a regex). For error programs (assembler input
# errors exit 2, schedule errors exit 1). Usage:
#   cmake -DEXPECT_CODE=2 "-DEXPECT_TEXT=3:5: unknown mnemonic 'ADDD'" -P tests/expect_error.cmake
#         -- $<TARGET_FILE:tspemu> asm prog.tsa -o out.tspb
# Everything after `--` is the command. Optional: -DWORKING_DIRECTORY=dir.
cmake_minimum_required(VERSION 3.25)

set(_command)
set(_after_separator FALSE)
math(EXPR _last "${CMAKE_ARGC} - 1")
foreach(_i RANGE ${_last})
  if(_after_separator)
    list(APPEND _command "${CMAKE_ARGV${_i}}")
  elseif("${CMAKE_ARGV${_i}}" STREQUAL "--")
    set(_after_separator TRUE)
  endif()
endforeach()
if(NOT _command)
  message(FATAL_ERROR "expect_error.cmake: no command given after --")
endif()
if(NOT DEFINED EXPECT_CODE OR NOT DEFINED EXPECT_TEXT)
  message(FATAL_ERROR "expect_error.cmake: set -DEXPECT_CODE=<n> and -DEXPECT_TEXT=<text>")
endif()
if(NOT DEFINED WORKING_DIRECTORY)
  set(WORKING_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
endif()

execute_process(COMMAND ${_command}
                WORKING_DIRECTORY "${WORKING_DIRECTORY}"
                RESULT_VARIABLE _code OUTPUT_VARIABLE _stdout ERROR_VARIABLE _stderr)
list(JOIN _command " " _shown)
if(NOT "${_code}" STREQUAL "${EXPECT_CODE}")
  message(FATAL_ERROR "`${_shown}` exited with ${_code}, expected ${EXPECT_CODE}\n"
                      "stderr:\n${_stderr}\nstdout:\n${_stdout}")
endif()
string(FIND "${_stderr}" "${EXPECT_TEXT}" _position)
if(_position EQUAL -1)
  message(FATAL_ERROR "`${_shown}` exited with ${_code} as expected, but stderr lacks the text\n"
                      "  expected: ${EXPECT_TEXT}\n  stderr:   ${_stderr}")
endif()
message(STATUS "ok: exit ${_code}, stderr contains: ${EXPECT_TEXT}")

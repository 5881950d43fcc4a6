# Runs tests/expect_error.cmake with the expectations of an error graph's header:
#   cmake -DGRAPH=<errors/x.toml> -DWORKING_DIRECTORY=<dir> -P expect_compile_error.cmake -- <cmd>
# `# expect-exit: <code>` and `# expect-error: <text>` (the whole stderr line). The text is read
# here rather than passed with -D because CTest escapes a ';' in a test argument as '\;'.
cmake_minimum_required(VERSION 3.25)
# file(READ), not file(STRINGS): the latter would return the ';' of a line as '\;'.
file(READ "${GRAPH}" _content)
foreach(_key expect-exit expect-error)
  if(NOT _content MATCHES "(^|\n)# ${_key}: ([^\n]*)")
    message(FATAL_ERROR "${GRAPH}: no '# ${_key}: ...' header line")
  endif()
  string(REPLACE "-" "_" _var "${_key}")
  set(_${_var} "${CMAKE_MATCH_2}")
endforeach()
set(EXPECT_CODE "${_expect_exit}")
set(EXPECT_TEXT "${_expect_error}")
include(${CMAKE_CURRENT_LIST_DIR}/../../expect_error.cmake)
# expect_error.cmake checks a substring; the message must also be the whole of stderr.
if(NOT "${_stderr}" STREQUAL "${EXPECT_TEXT}\n")
  message(FATAL_ERROR "stderr is more than the expected line:\n${_stderr}")
endif()

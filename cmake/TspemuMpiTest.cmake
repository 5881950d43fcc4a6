# tspemu_add_mpi_test(): register a program run under mpiexec with CTest.
#
#   tspemu_add_mpi_test(NAME <name> NP <n> COMMAND <program> [args...]
#                       [LABELS <label>...] [TIMEOUT <seconds>]
#                       [EXPECT_EXIT <code>|nonzero] [EXPECT_STDERR <text>...]
#                       [EXPECT_STDERR_REGEX <regex>...] [MAX_SECONDS <seconds>])
#
# Registers test `<name>_np=<n>` (labels `mpi` + LABELS, PROCESSORS min(n, 2)) running
#   timeout <TIMEOUT> ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} <n> --oversubscribe
#           ${MPIEXEC_PREFLAGS} <program> [args...] ${MPIEXEC_POSTFLAGS}
# with the Open MPI environment docs/network.md explains (measured on 2 cores: docs/network.md,
# "Open MPI settings", and cluster/README.md): run as root in containers, oversubscribe, yield
# when idle (without it every blocking wait costs a scheduler time slice, ~4 ms, once ranks
# outnumber cores) and linear barrier/allreduce (3x faster than the defaults at 72 ranks on 2
# cores). `timeout` (TIMEOUT, default 120 s) makes a hang fail instead of blocking CI: mpirun has
# been seen to hang after an abort.
#
# Without EXPECT_* options the test passes iff the job exits 0. With them it is a failure test: the
# job must exit with EXPECT_EXIT (a number, or `nonzero`; default nonzero), every EXPECT_STDERR text
# must occur on stderr exactly once, every EXPECT_STDERR_REGEX must match somewhere in it, and
# with MAX_SECONDS the job must end within that many seconds (whole seconds, mpirun start-up
# included). Arguments may use generator expressions ($<TARGET_FILE:...>).
#
# `cmake -DTSPEMU_EXPECT_SPEC=<file> -P TspemuMpiTest.cmake` is the checker those failure tests run.

if(CMAKE_SCRIPT_MODE_FILE AND DEFINED TSPEMU_EXPECT_SPEC)
  include("${TSPEMU_EXPECT_SPEC}")  # sets TSPEMU_COMMAND, TSPEMU_EXPECT_* (see below)
  string(TIMESTAMP _start "%s" UTC)
  execute_process(COMMAND ${TSPEMU_COMMAND}
                  RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
  string(TIMESTAMP _end "%s" UTC)
  math(EXPR _elapsed "${_end} - ${_start}")
  set(_problems "")
  if(TSPEMU_EXPECT_EXIT STREQUAL "nonzero")
    if(_rc STREQUAL "0")
      string(APPEND _problems "\n  exit code 0, expected non-zero")
    endif()
  elseif(NOT _rc STREQUAL TSPEMU_EXPECT_EXIT)
    string(APPEND _problems "\n  exit code '${_rc}', expected ${TSPEMU_EXPECT_EXIT}")
  endif()
  if(TSPEMU_EXPECT_MAX_SECONDS AND _elapsed GREATER TSPEMU_EXPECT_MAX_SECONDS)
    string(APPEND _problems
           "\n  took ${_elapsed} s, expected at most ${TSPEMU_EXPECT_MAX_SECONDS} s")
  endif()
  # Expected texts are numbered variables, not lists: they may contain semicolons.
  foreach(_i RANGE ${TSPEMU_EXPECT_STDERR_COUNT})
    if(_i EQUAL 0)
      continue()
    endif()
    set(_text "${TSPEMU_EXPECT_STDERR_${_i}}")
    string(LENGTH "${_err}" _len_all)
    string(REPLACE "${_text}" "" _without "${_err}")
    string(LENGTH "${_without}" _len_without)
    string(LENGTH "${_text}" _len_text)
    math(EXPR _count "(${_len_all} - ${_len_without}) / ${_len_text}")
    if(NOT _count EQUAL 1)
      string(APPEND _problems "\n  stderr holds ${_count} copies (expected 1) of:\n    ${_text}")
    endif()
  endforeach()
  foreach(_i RANGE ${TSPEMU_EXPECT_STDERR_REGEX_COUNT})
    if(_i EQUAL 0)
      continue()
    endif()
    set(_regex "${TSPEMU_EXPECT_STDERR_REGEX_${_i}}")
    if(NOT _err MATCHES "${_regex}")
      string(APPEND _problems "\n  stderr does not match the regex:\n    ${_regex}")
    endif()
  endforeach()
  if(_problems)
    list(JOIN TSPEMU_COMMAND " " _cmd)
    message(FATAL_ERROR "${_cmd}${_problems}\n--- stderr ---\n${_err}--- stdout ---\n${_out}")
  endif()
  message(STATUS "ok: exit ${_rc} after ${_elapsed} s")
  return()
endif()

include_guard(GLOBAL)
# Only cache variables and functions here: they are global, whereas a plain variable would exist
# only in the directory that happened to include this module first.
set(TSPEMU_MPI_TEST_MODULE "${CMAKE_CURRENT_LIST_FILE}" CACHE INTERNAL "checker script")
find_program(TSPEMU_TIMEOUT_PROGRAM timeout)
set(TSPEMU_MPIEXEC_OVERSUBSCRIBE_FLAG "--oversubscribe" CACHE STRING
    "mpiexec flag allowing more ranks than cores (Open MPI); empty for other MPIs")

function(_tspemu_bracket out text)
  # A CMake bracket argument holding `text` verbatim (no ]==] inside our texts).
  set(${out} "[==[${text}]==]" PARENT_SCOPE)
endfunction()

function(tspemu_add_mpi_test)
  cmake_parse_arguments(PARSE_ARGV 0 T "" "NAME;NP;TIMEOUT;EXPECT_EXIT;MAX_SECONDS"
                        "COMMAND;LABELS;EXPECT_STDERR;EXPECT_STDERR_REGEX")
  if(NOT T_NAME OR NOT T_NP OR NOT T_COMMAND)
    message(FATAL_ERROR "tspemu_add_mpi_test: NAME, NP and COMMAND are required")
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  set(test_name "${T_NAME}_np=${T_NP}")
  set(launch)
  if(TSPEMU_TIMEOUT_PROGRAM)
    list(APPEND launch ${TSPEMU_TIMEOUT_PROGRAM} --kill-after=10 ${T_TIMEOUT})
  endif()
  list(APPEND launch ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${T_NP}
       ${TSPEMU_MPIEXEC_OVERSUBSCRIBE_FLAG} ${MPIEXEC_PREFLAGS} ${T_COMMAND} ${MPIEXEC_POSTFLAGS})

  if(DEFINED T_EXPECT_EXIT OR T_EXPECT_STDERR OR T_EXPECT_STDERR_REGEX OR T_MAX_SECONDS)
    if(NOT DEFINED T_EXPECT_EXIT)
      set(T_EXPECT_EXIT nonzero)
    endif()
    set(spec "set(TSPEMU_COMMAND)\n")
    foreach(arg IN LISTS launch)
      _tspemu_bracket(q "${arg}")
      string(APPEND spec "list(APPEND TSPEMU_COMMAND ${q})\n")
    endforeach()
    string(APPEND spec "set(TSPEMU_EXPECT_EXIT \"${T_EXPECT_EXIT}\")\n"
                       "set(TSPEMU_EXPECT_MAX_SECONDS \"${T_MAX_SECONDS}\")\n")
    foreach(kind STDERR STDERR_REGEX)
      set(i 0)
      foreach(text IN LISTS T_EXPECT_${kind})
        math(EXPR i "${i} + 1")
        _tspemu_bracket(q "${text}")
        string(APPEND spec "set(TSPEMU_EXPECT_${kind}_${i} ${q})\n")
      endforeach()
      string(APPEND spec "set(TSPEMU_EXPECT_${kind}_COUNT ${i})\n")
    endforeach()
    set(spec_file "${CMAKE_CURRENT_BINARY_DIR}/${T_NAME}_np${T_NP}.expect.cmake")
    file(GENERATE OUTPUT "${spec_file}" CONTENT "${spec}")
    add_test(NAME "${test_name}" COMMAND ${CMAKE_COMMAND} -DTSPEMU_EXPECT_SPEC=${spec_file}
                                         -P ${TSPEMU_MPI_TEST_MODULE})
  else()
    add_test(NAME "${test_name}" COMMAND ${launch})
  endif()

  set(environment
      OMPI_ALLOW_RUN_AS_ROOT=1
      OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
      OMPI_MCA_rmaps_base_oversubscribe=1
      OMPI_MCA_mpi_yield_when_idle=1
      OMPI_MCA_coll_tuned_use_dynamic_rules=1
      OMPI_MCA_coll_tuned_barrier_algorithm=1
      OMPI_MCA_coll_tuned_allreduce_algorithm=1)
  set(processors ${T_NP})
  if(processors GREATER 2)
    set(processors 2)
  endif()
  math(EXPR ctest_timeout "${T_TIMEOUT} + 30")  # `timeout` fires first and kills mpirun cleanly
  set_tests_properties("${test_name}" PROPERTIES
    LABELS "mpi;${T_LABELS}"
    PROCESSORS ${processors}
    TIMEOUT ${ctest_timeout}
    ENVIRONMENT "${environment}")
endfunction()

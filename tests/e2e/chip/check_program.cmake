# Runs an example program's `# run:` command (given after `--`, `tspemu` already replaced by the
# built binary) and checks it. Usage:
#   cmake -DMODE=<mode> -DNAME=<program> -DWORKING_DIRECTORY=<source dir> [-DTSPEMU=<binary>]
#         [-DGOLDEN=<golden_digests.txt>] [-DWORK=<scratch dir>] -P check_program.cmake -- <command>
# Modes:
#   run      the command exits 0 and its stdout ends with a line `digest: <32 hex digits>`
#   golden   that digest equals the line `<NAME> <digest>` of GOLDEN
#   shuffle  the command with `--shuffle-seed 1` and with `--shuffle-seed 2` gives the same digest
#            as without (the engine executes each cycle's ops in a seeded random order: docs/design.md
#            section 4's determinism property)
#   bundle   `tspemu asm <the .tsa> -o WORK/<NAME>.tspb --topology <the command's topology>`, then
#            the command with the bundle in place of the .tsa, gives the same digest as the .tsa
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
if(NOT _command OR NOT DEFINED MODE OR NOT DEFINED NAME OR NOT DEFINED WORKING_DIRECTORY)
  message(FATAL_ERROR "check_program.cmake: set -DMODE, -DNAME, -DWORKING_DIRECTORY and give the "
                      "command after --")
endif()

# Runs the command given as the remaining arguments; sets <out_var> to its digest. Fails the test on a nonzero exit or
# a missing/misplaced digest line.
function(run_for_digest out_var)
  list(JOIN ARGN " " _shown)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY "${WORKING_DIRECTORY}"
                  RESULT_VARIABLE _code OUTPUT_VARIABLE _stdout ERROR_VARIABLE _stderr)
  if(NOT _code STREQUAL "0")
    message(FATAL_ERROR "`${_shown}` exited with ${_code}, expected 0\nstderr:\n${_stderr}\n"
                        "stdout:\n${_stdout}")
  endif()
  set(_found "")
  if(_stdout MATCHES "(^|\n)digest: ([0-9a-f]+)\n$")
    set(_found "${CMAKE_MATCH_2}")
  endif()
  string(LENGTH "${_found}" _length)
  if(NOT _length EQUAL 32)
    message(FATAL_ERROR "`${_shown}` exited with 0 but its stdout does not end with a "
                        "`digest: <32 hex digits>` line:\n${_stdout}")
  endif()
  set(${out_var} "${_found}" PARENT_SCOPE)
endfunction()

run_for_digest(_digest ${_command})

if(MODE STREQUAL "run")
  message(STATUS "ok: ${NAME} exits 0, digest ${_digest}")

elseif(MODE STREQUAL "golden")
  file(STRINGS "${GOLDEN}" _lines REGEX "^${NAME} ")
  if(NOT _lines)
    message(FATAL_ERROR "${GOLDEN} has no line for ${NAME}; if the program is new, add:\n"
                        "${NAME} ${_digest}")
  endif()
  list(GET _lines 0 _line)
  string(REGEX REPLACE "^${NAME} +([0-9a-f]+).*$" "\\1" _golden "${_line}")
  if(NOT _golden STREQUAL _digest)
    message(FATAL_ERROR "${NAME}: digest ${_digest} differs from the golden ${_golden} in "
                        "${GOLDEN} (see its header for what may legitimately change a digest)")
  endif()
  message(STATUS "ok: ${NAME} digest ${_digest} matches the golden one")

elseif(MODE STREQUAL "shuffle")
  foreach(_seed 1 2)
    run_for_digest(_shuffled ${_command} --shuffle-seed ${_seed})
    if(NOT _shuffled STREQUAL _digest)
      message(FATAL_ERROR "${NAME}: --shuffle-seed ${_seed} gives digest ${_shuffled}, without it "
                          "${_digest}: the result depends on the execution order of a cycle's ops")
    endif()
  endforeach()
  message(STATUS "ok: ${NAME} digest ${_digest} with --shuffle-seed 1 and 2 as without")

elseif(MODE STREQUAL "bundle")
  if(NOT DEFINED TSPEMU OR NOT DEFINED WORK)
    message(FATAL_ERROR "check_program.cmake: MODE=bundle needs -DTSPEMU and -DWORK")
  endif()
  set(_source)
  set(_topology)
  set(_previous)
  foreach(_arg IN LISTS _command)
    if(_arg MATCHES "\\.tsa$")
      set(_source "${_arg}")
    endif()
    if(_previous STREQUAL "--topology" OR _previous STREQUAL "-t")
      set(_topology "${_arg}")
    endif()
    set(_previous "${_arg}")
  endforeach()
  if(NOT _source OR NOT _topology)
    message(FATAL_ERROR "${NAME}: the run command names no .tsa file or no --topology")
  endif()
  file(MAKE_DIRECTORY "${WORK}")
  set(_bundle "${WORK}/${NAME}.tspb")
  file(REMOVE "${_bundle}")
  execute_process(COMMAND "${TSPEMU}" asm "${_source}" -o "${_bundle}" --topology "${_topology}"
                  WORKING_DIRECTORY "${WORKING_DIRECTORY}"
                  RESULT_VARIABLE _code OUTPUT_VARIABLE _stdout ERROR_VARIABLE _stderr)
  if(NOT _code STREQUAL "0")
    message(FATAL_ERROR "tspemu asm ${_source} exited with ${_code}:\n${_stderr}")
  endif()
  list(TRANSFORM _command REPLACE "^.*\\.tsa$" "${_bundle}")
  run_for_digest(_from_bundle ${_command})
  if(NOT _from_bundle STREQUAL _digest)
    message(FATAL_ERROR "${NAME}: the bundle gives digest ${_from_bundle}, the .tsa ${_digest}")
  endif()
  message(STATUS "ok: ${NAME} digest ${_digest} from the .tsa and from its bundle")

else()
  message(FATAL_ERROR "check_program.cmake: unknown MODE '${MODE}'")
endif()

# The steps of one compiled graph's end-to-end test (tests/e2e/compiler/CMakeLists.txt):
#
#   cmake -DMODE=compile -DNAME=<graph> -DBUNDLE=<out.tspb> -DCOMPILE_REPORT=<json>
#         -P check_run.cmake -- <tspemu> compile GRAPH --topology T -o BUNDLE --report COMPILE_REPORT
#     Removes this graph's old bundle and reports (so no later step can pass on a stale file), runs
#     the command; it must exit 0, print `predicted cycles: N` with N the report's
#     "predicted_cycles", and the report's "verified_cycles" must equal N.
#
#   cmake -DMODE=run -DNAME=<graph> -DGOLDEN=<hex> -DCOMPILE_REPORT=<json> -DRUN_REPORT=<json>
#         -P check_run.cmake -- <tspemu> run BUNDLE --topology T --local --check --report RUN_REPORT
#     Runs the command: exit 0, `check: passed` on stdout, the report check below, and the
#     `digest:` line equal to the report's (so also golden).
#
#   cmake -DMODE=report -DNAME=<graph> -DGOLDEN=<hex> -DCOMPILE_REPORT=<json> -DRUN_REPORT=<json>
#         -DRANKS=<n> -P check_run.cmake
#     Only the report check, for a run under mpiexec (whose exit code its own test checks):
#     "check":{"status":"passed"}, "digest" == GOLDEN, "cycles" == "predicted_cycles" of the run
#     report == "predicted_cycles" of the compile report, and (with RANKS) "transport" mpi with
#     RANKS ranks, (with PARTITION) the report's "partition" text.
#
#   cmake -DMODE=header -DNAME=<graph> -DGRAPH=<toml> -DTOPOLOGY=<topologies/x.toml> -DNP=<n>
#         -P check_run.cmake
#     The graph file's `# compile:` and `# run...:` header lines are runnable as written: each names
#     `--topology TOPOLOGY`, the run lines run NAME.tspb (what the compile line writes), and a
#     `# run (MPI):` line starts NP ranks.
#
# An empty GOLDEN means golden_digests.txt has no line for the graph: the test fails and prints
# the line to add. Messages name the graph, the file and the values seen.
cmake_minimum_required(VERSION 3.25)

foreach(_v MODE NAME)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "check_run.cmake: -D${_v}=... is required")
  endif()
endforeach()

# The command after `--`.
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

set(_problems "")

# _json_get(<out> <file> <key>...): the value at the key path, or a problem and an empty value.
function(_json_get out file)
  if(NOT EXISTS "${file}")
    set(_problems "${_problems}\n  ${file}: missing (did the step that writes it fail?)"
        PARENT_SCOPE)
    set(${out} "" PARENT_SCOPE)
    return()
  endif()
  file(READ "${file}" _json)
  string(JSON _value ERROR_VARIABLE _error GET "${_json}" ${ARGN})
  if(_error)
    list(JOIN ARGN "." _key)
    set(_problems "${_problems}\n  ${file}: \"${_key}\": ${_error}" PARENT_SCOPE)
    set(_value "")
  endif()
  set(${out} "${_value}" PARENT_SCOPE)
endfunction()

function(_expect what got expected)
  if(NOT "${got}" STREQUAL "${expected}")
    set(_problems "${_problems}\n  ${what}: '${got}', expected '${expected}'" PARENT_SCOPE)
  endif()
endfunction()

macro(_check_golden digest)
  if(GOLDEN STREQUAL "")
    string(APPEND _problems "\n  no golden digest for '${NAME}' in "
                            "tests/e2e/compiler/golden_digests.txt; if this run is right, add "
                            "the line:\n    ${NAME} ${digest}")
  else()
    _expect("digest" "${digest}" "${GOLDEN}")
  endif()
endmacro()

# The run report against the compile report and the golden digest.
macro(_check_run_report)
  _json_get(_predicted "${COMPILE_REPORT}" predicted_cycles)
  _json_get(_run_predicted "${RUN_REPORT}" predicted_cycles)
  _json_get(_cycles "${RUN_REPORT}" cycles)
  _json_get(_status "${RUN_REPORT}" check status)
  _json_get(_report_digest "${RUN_REPORT}" digest)
  _expect("run report check.status" "${_status}" passed)
  _expect("emulated cycles (run report \"cycles\") vs compile report \"predicted_cycles\""
          "${_cycles}" "${_predicted}")
  _expect("run report \"predicted_cycles\" vs compile report" "${_run_predicted}" "${_predicted}")
  _check_golden("${_report_digest}")
endmacro()

if(MODE STREQUAL "compile")
  foreach(_v BUNDLE COMPILE_REPORT)
    if(NOT DEFINED ${_v})
      message(FATAL_ERROR "check_run.cmake: MODE=compile needs -D${_v}=...")
    endif()
  endforeach()
  get_filename_component(_dir "${BUNDLE}" DIRECTORY)
  file(GLOB _stale "${_dir}/${NAME}.tspb" "${_dir}/${NAME}.*.json")
  if(_stale)
    file(REMOVE ${_stale})
  endif()
  execute_process(COMMAND ${_command} RESULT_VARIABLE _code OUTPUT_VARIABLE _stdout
                  ERROR_VARIABLE _stderr)
  _expect("exit code" "${_code}" 0)
  if(_code STREQUAL "0")
    _json_get(_predicted "${COMPILE_REPORT}" predicted_cycles)
    _json_get(_verified "${COMPILE_REPORT}" verified_cycles)
    _expect("compile report \"verified_cycles\" vs \"predicted_cycles\"" "${_verified}"
            "${_predicted}")
    if(NOT _stdout MATCHES "(^|\n)predicted cycles: ([0-9]+)\n")
      string(APPEND _problems "\n  stdout has no 'predicted cycles: N' line")
    else()
      _expect("printed predicted cycles vs the report's" "${CMAKE_MATCH_2}" "${_predicted}")
    endif()
    if(NOT EXISTS "${BUNDLE}")
      string(APPEND _problems "\n  ${BUNDLE}: not written")
    endif()
  endif()
elseif(MODE STREQUAL "run")
  foreach(_v GOLDEN COMPILE_REPORT RUN_REPORT)
    if(NOT DEFINED ${_v})
      message(FATAL_ERROR "check_run.cmake: MODE=run needs -D${_v}=...")
    endif()
  endforeach()
  file(REMOVE "${RUN_REPORT}")
  execute_process(COMMAND ${_command} RESULT_VARIABLE _code OUTPUT_VARIABLE _stdout
                  ERROR_VARIABLE _stderr)
  _expect("exit code" "${_code}" 0)
  if(NOT _stdout MATCHES "(^|\n)check: passed")
    string(APPEND _problems "\n  stdout has no 'check: passed' line")
  endif()
  if(NOT _stdout MATCHES "(^|\n)digest: ([0-9a-f]+)\n")
    string(APPEND _problems "\n  stdout has no 'digest: <hex>' line")
  else()
    set(_stdout_digest "${CMAKE_MATCH_2}")
  endif()
  _check_run_report()
  if(DEFINED _stdout_digest)
    _expect("printed digest vs the run report's" "${_stdout_digest}" "${_report_digest}")
  endif()
  # The graph-output digest: printed, in the report, and (for the examples docs/graph-format.md
  # lists) the golden output digest of its table, so the docs' digests are reproducible by a run.
  if(NOT _stdout MATCHES "(^|\n)check: output digest ([0-9a-f]+) ")
    string(APPEND _problems "\n  stdout has no 'check: output digest <hex>' line")
  else()
    set(_output_digest "${CMAKE_MATCH_2}")
    _json_get(_report_output_digest "${RUN_REPORT}" check output_digest)
    _expect("printed output digest vs the run report's" "${_output_digest}"
            "${_report_output_digest}")
    if(DEFINED GRAPH_DOC)
      file(STRINGS "${GRAPH_DOC}" _row REGEX "^\\| `${NAME}\\.toml` \\|")
      if(_row MATCHES "\\| `([0-9a-f]+)`[^|]*\\|$")
        _expect("output digest vs docs/graph-format.md's golden output digest" "${_output_digest}"
                "${CMAKE_MATCH_1}")
      endif()
    endif()
  endif()
elseif(MODE STREQUAL "report")
  foreach(_v GOLDEN COMPILE_REPORT RUN_REPORT)
    if(NOT DEFINED ${_v})
      message(FATAL_ERROR "check_run.cmake: MODE=report needs -D${_v}=...")
    endif()
  endforeach()
  _check_run_report()
  if(DEFINED RANKS)
    _json_get(_transport "${RUN_REPORT}" transport)
    _json_get(_ranks "${RUN_REPORT}" ranks)
    _expect("run report \"transport\"" "${_transport}" mpi)
    _expect("run report \"ranks\"" "${_ranks}" "${RANKS}")
  endif()
  if(DEFINED PARTITION)
    _json_get(_partition "${RUN_REPORT}" partition)
    _expect("run report \"partition\"" "${_partition}" "${PARTITION}")
  endif()
elseif(MODE STREQUAL "header")
  foreach(_v GRAPH TOPOLOGY NP)
    if(NOT DEFINED ${_v})
      message(FATAL_ERROR "check_run.cmake: MODE=header needs -D${_v}=...")
    endif()
  endforeach()
  file(STRINGS "${GRAPH}" _lines REGEX "^# (compile|run)[^:]*: ")
  set(_seen_compile FALSE)
  set(_seen_run FALSE)
  foreach(_line IN LISTS _lines)
    string(REGEX MATCH "^# ([^:]+): (.*)$" _ "${_line}")
    set(_kind "${CMAKE_MATCH_1}")
    set(_text " ${CMAKE_MATCH_2} ")
    if(NOT _text MATCHES " --topology ${TOPOLOGY} ")
      string(APPEND _problems "\n  '# ${_kind}:' line lacks '--topology ${TOPOLOGY}'")
    endif()
    if(_kind STREQUAL "compile")
      set(_seen_compile TRUE)
      if(NOT _text MATCHES " -o ${NAME}\\.tspb ")
        string(APPEND _problems "\n  '# compile:' line does not write '-o ${NAME}.tspb'")
      endif()
    else()
      set(_seen_run TRUE)
      if(NOT _text MATCHES " tspemu run ${NAME}\\.tspb ")
        string(APPEND _problems "\n  '# ${_kind}:' line does not run '${NAME}.tspb'")
      endif()
      if(_kind STREQUAL "run (MPI)" AND NOT _text MATCHES " -n ${NP} ")
        string(APPEND _problems "\n  '# run (MPI):' line does not start ${NP} ranks")
      endif()
    endif()
  endforeach()
  if(NOT _seen_compile OR NOT _seen_run)
    string(APPEND _problems "\n  needs a '# compile:' and a '# run:' header line")
  endif()
else()
  message(FATAL_ERROR "check_run.cmake: unknown MODE '${MODE}'")
endif()

if(_problems)
  set(_where "")
  if(_command)
    list(JOIN _command " " _shown)
    set(_where "\n  command: ${_shown}")
  endif()
  set(_output "")
  if(DEFINED _code)
    set(_output "\n--- stderr ---\n${_stderr}--- stdout ---\n${_stdout}")
  endif()
  message(FATAL_ERROR "graph '${NAME}' (${MODE}):${_problems}${_where}${_output}")
endif()
message(STATUS "ok: graph '${NAME}' (${MODE})")

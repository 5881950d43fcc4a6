# cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -P check_install.cmake
# Installs the build into WORK_DIR/prefix, builds tests/install/consumer against it and runs it.
file(REMOVE_RECURSE "${WORK_DIR}")
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()
run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${WORK_DIR}/prefix")
foreach(f bin/tspemu bin/tspemu-mpirun lib/cmake/tspemu/tspemuConfig.cmake
          include/tspemu/topo/loader.hpp share/tspemu/topologies/rack.toml
          share/tspemu/docs/design.md share/tspemu/README.md share/tspemu/cluster/slurm/common.sh
          share/tspemu/cluster/slurm/system-576.sbatch share/tspemu/tools/plot_report.py)
  if(NOT EXISTS "${WORK_DIR}/prefix/${f}")
    message(FATAL_ERROR "install is missing ${f}")
  endif()
endforeach()
# The installed wrapper finds the installed executable (no TSPEMU, no checkout).
run(env -u TSPEMU "${WORK_DIR}/prefix/bin/tspemu-mpirun" --print-tsps
    --topology "${WORK_DIR}/prefix/share/tspemu/topologies/rack.toml")
if(NOT last_output MATCHES "^72")
  message(FATAL_ERROR "installed tspemu-mpirun --print-tsps printed: ${last_output}")
endif()
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/install/consumer" -B "${WORK_DIR}/consumer" -G Ninja
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --build "${WORK_DIR}/consumer")
run("${WORK_DIR}/consumer/consumer" "${WORK_DIR}/prefix/share/tspemu/topologies/node.toml")
message(STATUS "${last_output}")
if(NOT last_output MATCHES "consumer: 8 tsps")
  message(FATAL_ERROR "consumer printed: ${last_output}")
endif()

# `cmake --install` installs the tspemu executable and its mpirun wrapper, the layer libraries with
# their headers, an exported CMake package (find_package(tspemu) then link tspemu::runtime or any
# layer), and under share/tspemu the topologies, programs, docs, README and the Slurm scripts.
include(CMakePackageConfigHelpers)
get_property(_tspemu_layers GLOBAL PROPERTY TSPEMU_LAYER_TARGETS)
install(TARGETS tspemu ${_tspemu_layers} EXPORT tspemuTargets
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY src/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tspemu
        FILES_MATCHING PATTERN "*.hpp" PATTERN "cli" EXCLUDE)
install(EXPORT tspemuTargets NAMESPACE tspemu:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tspemu)
configure_package_config_file(cmake/tspemuConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/tspemuConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tspemu)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/tspemuConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tspemuConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/tspemuConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tspemu)
install(DIRECTORY topologies programs docs DESTINATION ${CMAKE_INSTALL_DATADIR}/tspemu OPTIONAL)
install(PROGRAMS tools/plot_report.py tools/trace_screenshot.sh DESTINATION ${CMAKE_INSTALL_DATADIR}/tspemu/tools)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/tspemu)
# The mpirun wrapper next to the executable (it finds <prefix>/bin/tspemu), and the Slurm job
# scripts under <prefix>/share/tspemu/cluster (they find the install through TSPEMU_HOME, which
# `spack load` sets, or through their own path).
install(PROGRAMS launch/tspemu-mpirun DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY cluster DESTINATION ${CMAKE_INSTALL_DATADIR}/tspemu USE_SOURCE_PERMISSIONS)

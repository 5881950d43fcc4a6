# `cmake --install` installs the tspemu executable, the layer libraries with their headers and an
# exported CMake package: find_package(tspemu) then link tspemu::runtime (or any layer).
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
install(DIRECTORY topologies programs DESTINATION ${CMAKE_INSTALL_DATADIR}/tspemu OPTIONAL)

# tspemu_add_layer(NAME [SOURCES ...] [DEPENDS ...] [PRIVATE_DEPENDS ...])
# Defines library target tspemu_<NAME> with alias tspemu::<NAME>. Every layer includes headers by
# their full path below src/ ("chip/stream_file.hpp"). DEPENDS must name layers below this one in
# docs/design.md's order: cli -> runtime -> {model -> compiler, net, chip -> clock} -> {topo, isa}
# -> common.

set(TSPEMU_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Wimplicit-fallthrough
    # GCC 12 reports false -Wrestrict positives on std::string concatenation at -O3.
    $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>
    # Designated initialisers that name only some members are how tspemu builds contexts.
    -Wno-missing-field-initializers)

function(tspemu_target_defaults target)
  target_compile_options(${target} PRIVATE ${TSPEMU_WARNINGS}
    # Determinism: never fuse a*b+c into an FMA, whatever the -march (docs/design.md section 4, numerics).
    -ffp-contract=off)
  if(TSPEMU_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(TSPEMU_NATIVE)
    target_compile_options(${target} PRIVATE -march=native)
  endif()
  # Open MPI's deprecated C++ bindings only add warnings; tspemu uses the C API.
  target_compile_definitions(${target} PRIVATE OMPI_SKIP_MPICXX=1 MPICH_SKIP_MPICXX=1)
endfunction()

function(tspemu_add_layer name)
  cmake_parse_arguments(L "" "" "SOURCES;DEPENDS;PRIVATE_DEPENDS" ${ARGN})
  set(target tspemu_${name})
  if(L_SOURCES)
    add_library(${target} STATIC ${L_SOURCES})
    target_include_directories(${target} PUBLIC
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/tspemu>)
    target_link_libraries(${target} PUBLIC ${L_DEPENDS} PRIVATE ${L_PRIVATE_DEPENDS})
    tspemu_target_defaults(${target})
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON EXPORT_NAME ${name})
  else()
    # A layer whose code arrives with a later issue: an interface target, so dependents can already
    # name it and the dependency graph stays the one docs/design.md fixes.
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/tspemu>)
    target_link_libraries(${target} INTERFACE ${L_DEPENDS})
    set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  endif()
  add_library(tspemu::${name} ALIAS ${target})
  set_property(GLOBAL APPEND PROPERTY TSPEMU_LAYER_TARGETS ${target})
endfunction()

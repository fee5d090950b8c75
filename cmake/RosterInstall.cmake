# What `make install` / `cmake --install build --prefix P` puts where: the three programs, and the
# reader SDK (libroster.so + roster.h + roster.pc, the static C++ client and its headers, the
# CMake package `roster`, the Python module). Nothing of the server, agent, net or rules floors.
# Included last by the top-level CMakeLists.txt, so every target below already exists.
include(CMakePackageConfigHelpers)

set(ROSTER_CMAKE_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/roster" CACHE STRING
    "Where rosterConfig.cmake goes, relative to the prefix")

# --- programs
install(TARGETS roster-server roster-agent rosterctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# --- the SDK's headers: exactly what roster.h and roster/client.hpp include, by installed path.
# RosterBoundaries.cmake checks this set is closed (every "roster/..." include is in it) and
# free of server-side headers.
set(ROSTER_SDK_HEADERS
    "roster/roster.h=${PROJECT_SOURCE_DIR}/bindings/include/roster/roster.h"
    "roster/client.hpp=${PROJECT_SOURCE_DIR}/shm/include/roster/client.hpp"
    "roster/detail/layout.hpp=${PROJECT_SOURCE_DIR}/shm/include/roster/detail/layout.hpp"
    "roster/base/result.hpp=${PROJECT_SOURCE_DIR}/base/include/roster/base/result.hpp"
    "roster/wire/names.hpp=${PROJECT_SOURCE_DIR}/wire/include/roster/wire/names.hpp"
    "roster/wire/roster_generated.h=${ROSTER_GENERATED_DIR}/roster/wire/roster_generated.h")
foreach(entry IN LISTS ROSTER_SDK_HEADERS)
  string(REGEX MATCH "^([^=]+)=(.*)$" _ "${entry}")
  get_filename_component(_dir "${CMAKE_MATCH_1}" DIRECTORY)
  install(FILES "${CMAKE_MATCH_2}" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/${_dir}")
endforeach()

# --- the exported targets: roster::c (libroster.so) and roster::client (the static C++ client).
# roster_client's usage requirements name roster_result and roster_wire_schema (header-only) and,
# being static, its private roster_shm_segment: CMake must export those too. Build-only imported
# targets (Boost, xxhash) are linked through $<BUILD_INTERFACE:...> and never reach the export.
set_target_properties(roster PROPERTIES EXPORT_NAME c)
set_target_properties(roster_client PROPERTIES EXPORT_NAME client)
set_target_properties(roster_shm_segment PROPERTIES EXPORT_NAME shm_segment)
set_target_properties(roster_result PROPERTIES EXPORT_NAME result)
set_target_properties(roster_wire_schema PROPERTIES EXPORT_NAME wire_schema)

# roster_generated.h includes <flatbuffers/flatbuffers.h> and static_asserts flatc's exact
# version (major, minor and revision): consumers need the FlatBuffers headers of the version
# that generated it. rosterConfig.cmake asks for it with find_dependency(FlatBuffers VER EXACT)
# and the installed roster::wire_schema takes its include directory (header-only use: nothing of
# libflatbuffers is linked). Debian's package config is FlatBuffersConfig.cmake.
find_package(FlatBuffers CONFIG REQUIRED)
execute_process(COMMAND ${FLATC} --version OUTPUT_VARIABLE _flatc_version OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _flatc_version MATCHES " ${FlatBuffers_VERSION}$")
  message(FATAL_ERROR "flatc (${_flatc_version}) and the FlatBuffers headers (${FlatBuffers_VERSION}) differ: "
                      "roster_generated.h would not compile")
endif()
set(ROSTER_FLATBUFFERS_VERSION ${FlatBuffers_VERSION})
target_include_directories(roster_wire_schema SYSTEM INTERFACE
                           $<INSTALL_INTERFACE:$<TARGET_PROPERTY:flatbuffers::flatbuffers,INTERFACE_INCLUDE_DIRECTORIES>>)

install(TARGETS roster roster_client roster_shm_segment roster_result roster_wire_schema
        EXPORT rosterTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT rosterTargets NAMESPACE roster:: DESTINATION ${ROSTER_CMAKE_INSTALL_DIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/rosterConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/rosterConfig.cmake
                              INSTALL_DESTINATION ${ROSTER_CMAKE_INSTALL_DIR})
# 0.x: a minor release may change the arena layout, so only the same minor is compatible.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/rosterConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/rosterConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/rosterConfigVersion.cmake
        DESTINATION ${ROSTER_CMAKE_INSTALL_DIR})

# --- roster.pc, relocatable: the prefix is found from the .pc file's own location, so the tree
# works wherever it is installed (or moved) to. Absolute install dirs (a packager's choice)
# cannot be relative to the prefix: then the .pc names them as they are.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(ROSTER_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(ROSTER_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(ROSTER_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH _pc_to_prefix "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
  string(REGEX REPLACE "/$" "" _pc_to_prefix "${_pc_to_prefix}")
  set(ROSTER_PC_PREFIX "\${pcfiledir}/${_pc_to_prefix}")
  set(ROSTER_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(ROSTER_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/bindings/roster.pc.in ${CMAKE_CURRENT_BINARY_DIR}/roster.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/roster.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# --- the Python module, where the interpreter it is built for looks: that interpreter's default
# install scheme, taken relative to the scheme's own prefix ("data"). For Debian's python3 that
# is the posix_local scheme, lib/python3.11/dist-packages under /usr/local; for a plain CPython
# or a venv, lib/python3.X/site-packages. A distribution package (prefix /usr) overrides it,
# e.g. -DROSTER_PYTHON_INSTALL_DIR=lib/python3/dist-packages.
if(ROSTER_BUILD_PYTHON)
  execute_process(
    COMMAND ${Python3_EXECUTABLE} -c
            "import os, sysconfig; print(os.path.relpath(sysconfig.get_path('platlib'), sysconfig.get_path('data')))"
    OUTPUT_VARIABLE _python_dir OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _python_rc)
  if(NOT _python_rc EQUAL 0 OR _python_dir STREQUAL "" OR _python_dir MATCHES "^\\.\\.")
    message(FATAL_ERROR "cannot tell where ${Python3_EXECUTABLE} looks for modules (got \"${_python_dir}\")")
  endif()
  # Follow the interpreter (if it changes) unless someone chose the directory themselves.
  if(NOT ROSTER_PYTHON_INSTALL_DIR OR ROSTER_PYTHON_INSTALL_DIR STREQUAL "${_ROSTER_PYTHON_INSTALL_DIR_AUTO}")
    set(ROSTER_PYTHON_INSTALL_DIR "${_python_dir}" CACHE STRING
        "Where the Python module goes, relative to the install prefix (default: the interpreter's scheme)" FORCE)
  endif()
  set(_ROSTER_PYTHON_INSTALL_DIR_AUTO "${_python_dir}" CACHE INTERNAL "")
  install(TARGETS roster_python LIBRARY DESTINATION ${ROSTER_PYTHON_INSTALL_DIR})
  # The module's types (PEP 561): roster.pyi next to it, which IDEs and pyright read, and the same
  # file as the stub-only package roster-stubs, which mypy reads (it ignores a lone .pyi in
  # site-packages). `roster` is a single module, not a package, so there is no py.typed.
  install(FILES ${PROJECT_SOURCE_DIR}/bindings/python/roster.pyi DESTINATION ${ROSTER_PYTHON_INSTALL_DIR})
  install(FILES ${PROJECT_SOURCE_DIR}/bindings/python/roster.pyi DESTINATION ${ROSTER_PYTHON_INSTALL_DIR}/roster-stubs
          RENAME __init__.pyi)
endif()

# --- where things go, for tests/install/install_test.sh (a shell fragment, sourced).
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/sdk-layout.env CONTENT
"ROSTER_BINDIR='${CMAKE_INSTALL_BINDIR}'
ROSTER_LIBDIR='${CMAKE_INSTALL_LIBDIR}'
ROSTER_INCLUDEDIR='${CMAKE_INSTALL_INCLUDEDIR}'
ROSTER_CMAKE_INSTALL_DIR='${ROSTER_CMAKE_INSTALL_DIR}'
ROSTER_PYTHON='$<$<BOOL:${ROSTER_BUILD_PYTHON}>:${Python3_EXECUTABLE}>'
ROSTER_PYTHON_INSTALL_DIR='$<$<BOOL:${ROSTER_BUILD_PYTHON}>:${ROSTER_PYTHON_INSTALL_DIR}>'
")

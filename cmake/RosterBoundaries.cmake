# The facts tests/boundaries/check_boundaries.py judges: for each reader-side target (what the
# SDK ships), every target it links, directly or transitively, with the folder that defines it
# and the chain that pulls it in (one line each: NAME, FOLDER/ or -, CHAIN).
# Written at generate time into ${CMAKE_BINARY_DIR}/boundaries/. Included last by the top-level
# CMakeLists.txt (after RosterInstall.cmake), when every target and link is known.
#
# The walk reads LINK_LIBRARIES (what a target itself links, PRIVATE included: a shared library's
# private code is loaded with it) and INTERFACE_LINK_LIBRARIES, and looks through generator
# expressions ($<LINK_ONLY:x>, $<BUILD_INTERFACE:x>, $<$<CONFIG:Debug>:x>, ...) rather than
# evaluating them, so a dependency hidden behind a condition still counts. $<INSTALL_INTERFACE:x>
# is not part of this build and is skipped.

set(ROSTER_READER_TARGETS roster_client roster roster_python)

# Turns one link item into the names it may stand for (targets or plain libraries/flags).
function(_roster_link_items item out_var)
  set(text "${item}")
  # Innermost generator expressions first, until none is left.
  while(text MATCHES "\\$<")
    set(before "${text}")
    string(REGEX REPLACE "\\$<INSTALL_INTERFACE:[^<>]*>" "" text "${text}")
    string(REGEX REPLACE "\\$<[A-Za-z_]+:([^<>]*)>" "\\1" text "${text}")
    string(REGEX REPLACE "\\$<[^<>:]*>" "" text "${text}")  # argument-less ones, e.g. $<CONFIG>
    if(text STREQUAL before)  # not understood: the boundary test reports it rather than guess
      set(${out_var} "<unreadable:${item}>" PARENT_SCOPE)
      return()
    endif()
  endwhile()
  string(REPLACE "," ";" text "${text}")  # $<IF:c,a,b> left "c,a,b": each may be a target
  set(${out_var} "${text}" PARENT_SCOPE)
endfunction()

function(_roster_link_closure root out_var)
  set(queue ${root})
  set(seen ${root})
  string(MAKE_C_IDENTIFIER "${root}" key)  # target names may hold "::", variable names may not
  set(chain_${key} "${root}")
  set(lines "")
  while(queue)
    list(POP_FRONT queue current)
    string(MAKE_C_IDENTIFIER "${current}" current_key)
    set(links "")
    get_target_property(type ${current} TYPE)
    if(NOT type STREQUAL "INTERFACE_LIBRARY")
      get_target_property(own ${current} LINK_LIBRARIES)
      if(own)
        list(APPEND links ${own})
      endif()
    endif()
    get_target_property(iface ${current} INTERFACE_LINK_LIBRARIES)
    if(iface)
      list(APPEND links ${iface})
    endif()
    foreach(item IN LISTS links)
      if(item MATCHES "^::@")  # CMake's markers around links added from another directory
        continue()
      endif()
      _roster_link_items("${item}" names)
      foreach(name IN LISTS names)
        if(name STREQUAL "" OR name IN_LIST seen)
          continue()
        endif()
        set(dep "${name}")
        if(TARGET ${name})
          get_target_property(aliased ${name} ALIASED_TARGET)
          if(aliased)
            set(dep ${aliased})
          endif()
        endif()
        list(APPEND seen ${name})
        if(NOT dep STREQUAL name)
          if(dep IN_LIST seen)
            continue()
          endif()
          list(APPEND seen ${dep})
        endif()
        string(MAKE_C_IDENTIFIER "${dep}" key)
        set(chain_${key} "${chain_${current_key}} -> ${dep}")
        # Where a project target is defined, so the check holds for targets renamed or added
        # later; imported targets (system libraries) and plain names have none.
        set(where "-")
        if(TARGET ${dep})
          list(APPEND queue ${dep})
          get_target_property(imported ${dep} IMPORTED)
          if(NOT imported)
            get_target_property(where ${dep} SOURCE_DIR)
            file(RELATIVE_PATH where "${PROJECT_SOURCE_DIR}" "${where}")
            string(APPEND where "/")
          endif()
        endif()
        string(APPEND lines "${dep}\t${where}\t${chain_${key}}\n")
      endforeach()
    endforeach()
  endwhile()
  set(${out_var} "${lines}" PARENT_SCOPE)
endfunction()

set(_roster_readers_present "")
foreach(reader IN LISTS ROSTER_READER_TARGETS)
  if(TARGET ${reader})
    _roster_link_closure(${reader} _closure)
    file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/boundaries/${reader}.links CONTENT "${_closure}")
    string(APPEND _roster_readers_present "${reader}\t$<TARGET_FILE:${reader}>\n")
  endif()
endforeach()
# Which readers this configuration builds, and their artifacts (for the symbol check).
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/boundaries/readers.txt CONTENT "${_roster_readers_present}")
# The installed headers, as INSTALLED_PATH=SOURCE_PATH (ROSTER_SDK_HEADERS, RosterInstall.cmake).
list(JOIN ROSTER_SDK_HEADERS "\n" _roster_sdk_headers)
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/boundaries/sdk_headers.txt CONTENT "${_roster_sdk_headers}\n")
# Where flatc writes roster_generated.h, for resolving include lines.
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/boundaries/generated_dir.txt CONTENT "${ROSTER_GENERATED_DIR}\n")

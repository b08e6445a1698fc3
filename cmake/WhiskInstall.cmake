# What `cmake --install` puts under the prefix, for programs that link whisk:
#   lib/                   libwhisk (whisk::core), libwhisk_actors (whisk::actors),
#                          libwhisk_v8 (whisk::isolate, when built)
#   include/whisk/         the public headers: everything under <library>/include/whisk
#                          (isolate/ only with the isolate library); src/ stays internal
#   lib/cmake/whisk/       whiskConfig.cmake, its version file, one targets file per component
#   lib/pkgconfig/         whisk.pc (core) and whisk-actors.pc
#   bin/                   the binaries (whisk-node, whisk-agent, ...)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(WHISK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/whisk)

# The libraries name their include directories by absolute source path; an installed
# target must not. Wrap each such path for the build tree only (the install adds its own).
function(whisk_build_interface_includes target)
  get_target_property(dirs ${target} INTERFACE_INCLUDE_DIRECTORIES)
  set(wrapped "")
  foreach(d IN LISTS dirs)
    if(d MATCHES "^\\$<" OR NOT IS_ABSOLUTE "${d}")
      list(APPEND wrapped "${d}")
    else()
      list(APPEND wrapped "$<BUILD_INTERFACE:${d}>")
    endif()
  endforeach()
  set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${wrapped}")
endfunction()

# target -> component (the exported name is whisk::<component>)
set(WHISK_COMPONENTS core actors)
set(WHISK_TARGET_core whisk)
set(WHISK_TARGET_actors whisk_actors)
if(TARGET whisk_v8)
  list(APPEND WHISK_COMPONENTS isolate)
  set(WHISK_TARGET_isolate whisk_v8)
endif()

foreach(component IN LISTS WHISK_COMPONENTS)
  set(target ${WHISK_TARGET_${component}})
  whisk_build_interface_includes(${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${component})
  # The in-tree name mirrors the installed one, so examples read the same either way.
  if(NOT TARGET whisk::${component})
    add_library(whisk::${component} ALIAS ${target})
  endif()
  install(TARGETS ${target} EXPORT whisk-${component}-targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT whisk-${component}-targets NAMESPACE whisk:: DESTINATION ${WHISK_CMAKE_DIR} COMPONENT dev)
endforeach()

install(DIRECTORY ${PROJECT_SOURCE_DIR}/libwhisk/include/whisk ${PROJECT_SOURCE_DIR}/actors/include/whisk
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev
  FILES_MATCHING PATTERN "*.hpp"
  PATTERN isolate EXCLUDE)
if(TARGET whisk_v8)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/libwhisk/include/whisk/isolate
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/whisk COMPONENT dev FILES_MATCHING PATTERN "*.hpp")
endif()

# A static library hands its private dependencies to whoever links it: the package config
# must find them too. A shared build needs only the public ones.
get_target_property(WHISK_LIBRARY_TYPE whisk TYPE)
if(WHISK_LIBRARY_TYPE STREQUAL "STATIC_LIBRARY")
  set(WHISK_STATIC ON)
else()
  set(WHISK_STATIC OFF)
endif()
# libnode comes from a project-local prefix (setup.sh) or the system; the config remembers
# where this build found it.
get_filename_component(WHISK_LIBNODE_LIBRARY_DIR "${LIBNODE_LIBRARY}" DIRECTORY)
set(WHISK_LIBNODE_INCLUDE_DIR "${LIBNODE_INCLUDE_DIR}")

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/whiskConfig.cmake.in
  ${PROJECT_BINARY_DIR}/whiskConfig.cmake INSTALL_DESTINATION ${WHISK_CMAKE_DIR})
# 0.x: a minor version may break the API, so only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/whiskConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/whiskConfig.cmake ${PROJECT_BINARY_DIR}/whiskConfigVersion.cmake
  DESTINATION ${WHISK_CMAKE_DIR} COMPONENT dev)
# CAF and libsodium ship no CMake package: the config finds them with our modules.
install(FILES ${PROJECT_SOURCE_DIR}/cmake/FindCAF.cmake ${PROJECT_SOURCE_DIR}/cmake/FindSodium.cmake
  DESTINATION ${WHISK_CMAKE_DIR}/modules COMPONENT dev)

# pkg-config: the libraries are static by default, so Libs carries every dependency. The
# prefix is found from the .pc file's own place, so `cmake --install --prefix` works too.
file(RELATIVE_PATH WHISK_PC_TO_PREFIX "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
set(WHISK_PC_PREFIX "\${pcfiledir}/${WHISK_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/whisk.pc.in ${PROJECT_BINARY_DIR}/whisk.pc @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/cmake/whisk-actors.pc.in ${PROJECT_BINARY_DIR}/whisk-actors.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/whisk.pc ${PROJECT_BINARY_DIR}/whisk-actors.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

install(TARGETS whisk-node whisk-agent whisk-scheduler whisk-controller whisk-admin whisk-sim whisk-cli
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT bin)

# The Debian package and the whisk-node service (off unless -DWHISK_DEB=ON)
include(WhiskPackage)

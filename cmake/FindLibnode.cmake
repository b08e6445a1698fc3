# V8 as shipped in Debian's libnode (node 18, V8 10.2): from the project-local prefix that
# setup.sh unpacks (third_party/libnode), else from the system. Defines Libnode::v8.
# Build with NO pointer-compression or sandbox defines: libnode has both off.
find_path(LIBNODE_INCLUDE_DIR v8.h
  PATHS ${PROJECT_SOURCE_DIR}/third_party/libnode/usr/include/node /usr/include/node
  NO_DEFAULT_PATH)
find_library(LIBNODE_LIBRARY NAMES libnode.so.108 node
  PATHS ${PROJECT_SOURCE_DIR}/third_party/libnode/usr/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu
  NO_DEFAULT_PATH)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Libnode REQUIRED_VARS LIBNODE_INCLUDE_DIR LIBNODE_LIBRARY)

if(Libnode_FOUND AND NOT TARGET Libnode::v8)
  get_filename_component(LIBNODE_LIBRARY_DIR ${LIBNODE_LIBRARY} DIRECTORY)
  add_library(Libnode::v8 SHARED IMPORTED)
  set_target_properties(Libnode::v8 PROPERTIES
    IMPORTED_LOCATION "${LIBNODE_LIBRARY}"
    IMPORTED_NO_SONAME FALSE
    INTERFACE_INCLUDE_DIRECTORIES "${LIBNODE_INCLUDE_DIR}"
    INTERFACE_LINK_OPTIONS "-Wl,-rpath,${LIBNODE_LIBRARY_DIR}")
endif()

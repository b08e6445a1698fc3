# The Debian package (configure with -DWHISK_DEB=ON -DCMAKE_INSTALL_PREFIX=/usr, build, then
# `cpack -G DEB`): whisk_<version>_amd64.deb with the binaries, the libraries, headers and
# CMake package, and whisk-node as a systemd service (packaging/). Off by default, because
# its files go to absolute paths (/etc, /lib/systemd) that a `--prefix` install must not touch.
option(WHISK_DEB "Install the whisk-node service files and configure CPack's DEB generator" OFF)
if(NOT WHISK_DEB)
  return()
endif()
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR "WHISK_DEB needs -DCMAKE_INSTALL_PREFIX=/usr (now ${CMAKE_INSTALL_PREFIX})")
endif()

# cpack installs what is built; the package needs the apps and libraries, not every example
# and benchmark (`all`)
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(WHISK_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)
install(FILES ${WHISK_PACKAGING_DIR}/whisk-node.service DESTINATION /lib/systemd/system COMPONENT bin)
install(FILES ${WHISK_PACKAGING_DIR}/whisk-node.ini DESTINATION /etc/whisk COMPONENT bin)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT bin)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME copyright COMPONENT bin)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME whisk)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "whisk maintainers <maintainers@whisk.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "serverless platform on the C++ Actor Framework (OpenWhisk API)")
set(CPACK_PACKAGE_DESCRIPTION "whisk runs functions behind OpenWhisk's REST API: whisk-node on one machine, \
or whisk-scheduler, whisk-agent and whisk-controller as a cluster; whisk-sim replays traces against \
keep-alive policies in virtual time. whisk-node is installed as a \
systemd service (configuration in /etc/whisk/whisk-node.ini, data in /var/lib/whisk). The package \
also holds libwhisk and its actors library (static) with their headers and CMake package, for \
hosts and container backends of one's own.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # whisk_<version>_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# the shared libraries the binaries link come from dpkg-shlibdeps; these are what they run
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, slirp4netns, nodejs")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3")
# linking the static libraries takes their dependencies' development packages
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libcaf-dev, libfmt-dev, libsimdjson-dev, libsqlite3-dev, libpq-dev, libsodium-dev, libseccomp-dev, prometheus-cpp-dev, libboost1.81-dev, cmake, g++")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${WHISK_PACKAGING_DIR}/postinst ${WHISK_PACKAGING_DIR}/prerm ${WHISK_PACKAGING_DIR}/postrm
  ${WHISK_PACKAGING_DIR}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)

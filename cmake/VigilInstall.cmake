# install() rules and a package config, so that find_package(vigil) works.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS vigil EXPORT vigilTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/vigil DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT vigilTargets NAMESPACE vigil:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/vigil)

configure_package_config_file(cmake/vigilConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/vigilConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/vigil)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/vigilConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/vigilConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/vigilConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/vigil)


# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/backends/pcap.c" "CMakeFiles/vnetkit_core.dir/backends/pcap.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/backends/pcap.c.o.d"
  "/work/main/backends/registry.c" "CMakeFiles/vnetkit_core.dir/backends/registry.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/backends/registry.c.o.d"
  "/work/main/core/addr.c" "CMakeFiles/vnetkit_core.dir/core/addr.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/core/addr.c.o.d"
  "/work/main/core/error.c" "CMakeFiles/vnetkit_core.dir/core/error.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/core/error.c.o.d"
  "/work/main/core/frame.c" "CMakeFiles/vnetkit_core.dir/core/frame.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/core/frame.c.o.d"
  "/work/main/core/loop.c" "CMakeFiles/vnetkit_core.dir/core/loop.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/core/loop.c.o.d"
  "/work/main/core/net.c" "CMakeFiles/vnetkit_core.dir/core/net.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/core/net.c.o.d"
  "/work/main/core/options.c" "CMakeFiles/vnetkit_core.dir/core/options.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/core/options.c.o.d"
  "/work/main/core/port.c" "CMakeFiles/vnetkit_core.dir/core/port.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/core/port.c.o.d"
  "/work/main/core/topology.c" "CMakeFiles/vnetkit_core.dir/core/topology.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/core/topology.c.o.d"
  "/work/main/nics/guest_mem.c" "CMakeFiles/vnetkit_core.dir/nics/guest_mem.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/nics/guest_mem.c.o.d"
  "/work/main/nics/nic.c" "CMakeFiles/vnetkit_core.dir/nics/nic.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/nics/nic.c.o.d"
  "/work/main/nics/registry.c" "CMakeFiles/vnetkit_core.dir/nics/registry.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/nics/registry.c.o.d"
  "/work/main/tracer/filter_dump.c" "CMakeFiles/vnetkit_core.dir/tracer/filter_dump.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/tracer/filter_dump.c.o.d"
  "/work/main/tracer/pcapng.c" "CMakeFiles/vnetkit_core.dir/tracer/pcapng.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/tracer/pcapng.c.o.d"
  "/work/main/tracer/tracer.c" "CMakeFiles/vnetkit_core.dir/tracer/tracer.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/tracer/tracer.c.o.d"
  "/work/main/wire/arp.c" "CMakeFiles/vnetkit_core.dir/wire/arp.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/wire/arp.c.o.d"
  "/work/main/wire/buf.c" "CMakeFiles/vnetkit_core.dir/wire/buf.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/wire/buf.c.o.d"
  "/work/main/wire/checksum.c" "CMakeFiles/vnetkit_core.dir/wire/checksum.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/wire/checksum.c.o.d"
  "/work/main/wire/describe.c" "CMakeFiles/vnetkit_core.dir/wire/describe.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/wire/describe.c.o.d"
  "/work/main/wire/dhcp.c" "CMakeFiles/vnetkit_core.dir/wire/dhcp.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/wire/dhcp.c.o.d"
  "/work/main/wire/ethernet.c" "CMakeFiles/vnetkit_core.dir/wire/ethernet.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/wire/ethernet.c.o.d"
  "/work/main/wire/icmp.c" "CMakeFiles/vnetkit_core.dir/wire/icmp.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/wire/icmp.c.o.d"
  "/work/main/wire/icmpv6.c" "CMakeFiles/vnetkit_core.dir/wire/icmpv6.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/wire/icmpv6.c.o.d"
  "/work/main/wire/ipv4.c" "CMakeFiles/vnetkit_core.dir/wire/ipv4.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/wire/ipv4.c.o.d"
  "/work/main/wire/ipv6.c" "CMakeFiles/vnetkit_core.dir/wire/ipv6.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/wire/ipv6.c.o.d"
  "/work/main/wire/tcp.c" "CMakeFiles/vnetkit_core.dir/wire/tcp.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/wire/tcp.c.o.d"
  "/work/main/wire/tftp.c" "CMakeFiles/vnetkit_core.dir/wire/tftp.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/wire/tftp.c.o.d"
  "/work/main/wire/udp.c" "CMakeFiles/vnetkit_core.dir/wire/udp.c.o" "gcc" "CMakeFiles/vnetkit_core.dir/wire/udp.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")

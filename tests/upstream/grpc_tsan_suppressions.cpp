// ThreadSanitizer suppressions for the tests that talk to etcd (read by TSan at start-up when
// the build is `make tsan`; unused otherwise). gRPC, absl and protobuf are Debian's uninstrumented
// libraries: TSan does not see their own synchronisation (absl::Mutex parks on futexes), so it
// reports the memmove, memcmp and epoll calls they make as races. Only reports from inside those
// libraries are suppressed; a race in roster's own code (the etcd store's threads) still fails.
extern "C" const char* __tsan_default_suppressions() {
  return "called_from_lib:libgrpc.so\n"
         "called_from_lib:libgrpc++.so\n"
         "called_from_lib:libgpr.so\n"
         "called_from_lib:libprotobuf.so\n"
         "called_from_lib:libabsl_status.so\n"
         "called_from_lib:libabsl_cord.so\n"
         "called_from_lib:libabsl_time.so\n"
         "called_from_lib:libabsl_synchronization.so\n"
         "called_from_lib:libabsl_graphcycles_internal.so\n"
         "called_from_lib:libabsl_strings.so\n"
         "race:grpc::internal::\n"
         "race:grpc_core::\n"
         "race:grpc_event_engine::\n"
         "race:absl::\n";
}

#include "roster/wire/record_revision.hpp"

namespace roster::wire {

template <typename T>
void set_revision(std::vector<uint8_t>& record, uint64_t revision) {
  T* table = flatbuffers::GetMutableRoot<T>(record.data());
  if (table->mutate_revision(revision)) return;
  // Written without the field (by an older decoder, or with revision 0): rebuild it.
  reencode_with_revision<T>(record, revision);
}

template <typename T>
void reencode_with_revision(std::vector<uint8_t>& record, uint64_t revision) {
  const T* table = flatbuffers::GetRoot<T>(record.data());
  typename T::NativeTableType native;
  table->UnPackTo(&native);
  native.revision = revision;
  flatbuffers::FlatBufferBuilder fbb;
  fbb.ForceDefaults(true);  // so the next stamp of this record is in place
  fbb.Finish(T::Pack(fbb, &native));
  record.assign(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
}

template void reencode_with_revision<ServiceVersion>(std::vector<uint8_t>&, uint64_t);
template void reencode_with_revision<Instance>(std::vector<uint8_t>&, uint64_t);
template void reencode_with_revision<Contract>(std::vector<uint8_t>&, uint64_t);
template void set_revision<ServiceVersion>(std::vector<uint8_t>&, uint64_t);
template void set_revision<Instance>(std::vector<uint8_t>&, uint64_t);
template void set_revision<Contract>(std::vector<uint8_t>&, uint64_t);

}  // namespace roster::wire

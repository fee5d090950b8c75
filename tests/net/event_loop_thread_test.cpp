// EventLoopThread: a loop on a thread of its own runs what is posted to it there, in post order;
// finish() runs its last task after them, and returns once the thread has ended.
#include "roster/net/event_loop_thread.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace roster::net {
namespace {

TEST(EventLoopThread, RunsPostedTasksOnItsThreadInOrderThenFinishes) {
  EventLoopThread worker("test-loop");
  std::vector<int> order;  // written on the worker's thread only; read after finish() joined it
  std::thread::id ran_on;
  for (int i = 0; i < 100; ++i)
    worker.loop().post([&, i] {
      order.push_back(i);
      ran_on = std::this_thread::get_id();
    });
  worker.finish([&] { order.push_back(-1); });
  ASSERT_EQ(order.size(), 101u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
  EXPECT_EQ(order.back(), -1);
  EXPECT_NE(ran_on, std::this_thread::get_id());
  worker.finish();  // a second call does nothing
}

TEST(EventLoopThread, DestroyingItStopsTheThread) {
  int ran = 0;
  {
    EventLoopThread worker("test-loop");
    worker.loop().post([&] { ++ran; });
  }
  EXPECT_EQ(ran, 1);  // what was posted before the destructor still ran
}

}  // namespace
}  // namespace roster::net

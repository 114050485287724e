//! The engine that runs the plans' actors: a fixed pool of threads takes turns running
//! whichever plans have work, so a thousand plans in use cost the same few threads as one,
//! and automerge work stays off the async runtime's threads.
//!
//! A [`Task`] is a state machine that takes one [`Task::step`] at a time. Its [`Slot`]
//! schedules it: woken (a command queued, a completion posted, a timer due), it joins the
//! pool's run queue once, however often it is woken, and runs on one thread at a time.

use super::lock;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Instant;

/// What a task says after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// It has more work queued than one step does (others take their turn first).
    More,
    /// It waits for a wake, or until this moment.
    Wait(Option<Instant>),
    /// It has finished: it is dropped and wakes are ignored.
    Done,
}

/// A state machine the pool runs.
pub(super) trait Task: Send + 'static {
    /// Work handed to it from outside its own queue (completions of work it handed off).
    type Posted: Send;
    /// Does what is queued (a bounded amount) and what `posted` brings.
    fn step(&mut self, posted: Vec<Self::Posted>) -> Step;
}

/// Something that can be told there is work for it.
pub(super) trait Wake: Send + Sync {
    /// There is work: run soon.
    fn wake(self: Arc<Self>);
}

/// Something the pool runs.
trait Runnable: Send + Sync {
    fn run(self: Arc<Self>);
}

struct PoolShared {
    queue: Mutex<VecDeque<Arc<dyn Runnable>>>,
    ready: Condvar,
    closed: AtomicBool,
    rt: tokio::runtime::Handle,
}

/// A fixed set of threads running tasks (cheap to clone; [`Pool::close`] stops it).
#[derive(Clone)]
pub(super) struct Pool {
    shared: Arc<PoolShared>,
}

impl Pool {
    /// Starts `threads` threads (at least one); timers run on the current async runtime.
    pub(super) fn start(threads: usize) -> std::io::Result<Self> {
        let pool = Self {
            shared: Arc::new(PoolShared {
                queue: Mutex::default(),
                ready: Condvar::new(),
                closed: AtomicBool::new(false),
                rt: tokio::runtime::Handle::current(),
            }),
        };
        for i in 0..threads.max(1) {
            let shared = pool.shared.clone();
            std::thread::Builder::new()
                .name(format!("plansync-sync-{i}"))
                .spawn(move || work(&shared))?;
        }
        Ok(pool)
    }

    /// Stops the threads once their current step ends; queued tasks are dropped.
    pub(super) fn close(&self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        lock(&self.shared.queue).clear();
        self.shared.ready.notify_all();
    }

    fn push(&self, task: Arc<dyn Runnable>) {
        if self.shared.closed.load(Ordering::SeqCst) {
            return;
        }
        lock(&self.shared.queue).push_back(task);
        self.shared.ready.notify_one();
    }
}

/// A pool thread: runs queued tasks until the pool closes.
fn work(shared: &PoolShared) {
    loop {
        let next = {
            let mut queue = lock(&shared.queue);
            loop {
                if shared.closed.load(Ordering::SeqCst) {
                    return;
                }
                if let Some(t) = queue.pop_front() {
                    break t;
                }
                queue = shared.ready.wait(queue).unwrap_or_else(|p| p.into_inner());
            }
        };
        next.run();
    }
}

/// Neither queued nor running.
const IDLE: u8 = 0;
/// In the run queue.
const QUEUED: u8 = 1;
/// A thread is running a step.
const RUNNING: u8 = 2;
/// Running, and woken meanwhile: it runs again after this step.
const AGAIN: u8 = 3;
/// Finished.
const DONE: u8 = 4;

/// One task's place in the pool.
pub(super) struct Slot<T: Task> {
    state: AtomicU8,
    posted: Mutex<Vec<T::Posted>>,
    task: Mutex<Option<T>>,
    /// The earliest timer set and not yet fired.
    timer: Mutex<Option<Instant>>,
    pool: Pool,
    me: Weak<Self>,
}

impl<T: Task> Slot<T> {
    /// Places the task `make` builds (given its slot, to wake it later) in the pool; it
    /// first runs when woken.
    pub(super) fn new(pool: &Pool, make: impl FnOnce(Weak<Self>) -> T) -> Arc<Self> {
        Arc::new_cyclic(|me: &Weak<Self>| Self {
            state: AtomicU8::new(IDLE),
            posted: Mutex::default(),
            task: Mutex::new(Some(make(me.clone()))),
            timer: Mutex::default(),
            pool: pool.clone(),
            me: me.clone(),
        })
    }

    /// Hands the task work from outside its queue and wakes it.
    pub(super) fn post(&self, work: T::Posted) {
        lock(&self.posted).push(work);
        self.schedule();
    }

    /// Whether the task has finished.
    pub(super) fn is_done(&self) -> bool {
        self.state.load(Ordering::SeqCst) == DONE
    }

    /// Queues the task to run unless it is queued already; a running task runs again.
    pub(super) fn schedule(&self) {
        let mut now = self.state.load(Ordering::SeqCst);
        loop {
            let next = match now {
                IDLE => QUEUED,
                RUNNING => AGAIN,
                _ => return,
            };
            match self
                .state
                .compare_exchange(now, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) if next == QUEUED => {
                    if let Some(me) = self.me.upgrade() {
                        self.pool.push(me);
                    }
                    return;
                }
                Ok(_) => return,
                Err(actual) => now = actual,
            }
        }
    }

    /// Wakes the task at `at` (a later timer than one already set is not needed: the
    /// step it wakes sets the next).
    fn wake_at(&self, at: Instant) {
        {
            let mut timer = lock(&self.timer);
            if timer.is_some_and(|t| t <= at && t > Instant::now()) {
                return;
            }
            *timer = Some(at);
        }
        let me = self.me.clone();
        self.pool.shared.rt.spawn(async move {
            tokio::time::sleep_until(at.into()).await;
            if let Some(slot) = me.upgrade() {
                {
                    let mut timer = lock(&slot.timer);
                    if *timer == Some(at) {
                        *timer = None;
                    }
                }
                slot.schedule();
            }
        });
    }
}

impl<T: Task> Wake for Slot<T> {
    fn wake(self: Arc<Self>) {
        self.schedule();
    }
}

impl<T: Task> Runnable for Slot<T> {
    fn run(self: Arc<Self>) {
        self.state.store(RUNNING, Ordering::SeqCst);
        let posted = std::mem::take(&mut *lock(&self.posted));
        let step = {
            let mut task = lock(&self.task);
            match task.as_mut() {
                Some(t) => {
                    let step = t.step(posted);
                    if step == Step::Done {
                        *task = None;
                    }
                    step
                }
                None => Step::Done,
            }
        };
        match step {
            Step::Done => {
                self.state.store(DONE, Ordering::SeqCst);
                lock(&self.posted).clear();
            }
            Step::More => {
                self.state.store(QUEUED, Ordering::SeqCst);
                self.pool.push(self.clone());
            }
            Step::Wait(at) => {
                if let Some(at) = at {
                    self.wake_at(at);
                }
                if self
                    .state
                    .compare_exchange(RUNNING, IDLE, Ordering::SeqCst, Ordering::SeqCst)
                    .is_err()
                {
                    // Woken while it ran.
                    self.state.store(QUEUED, Ordering::SeqCst);
                    self.pool.push(self.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Counts its steps and what was posted; finishes after `until` posts.
    struct Counter {
        steps: Arc<AtomicUsize>,
        seen: Arc<AtomicUsize>,
        until: usize,
        busy: Arc<AtomicUsize>,
        most_busy: Arc<AtomicUsize>,
    }

    impl Task for Counter {
        type Posted = usize;
        fn step(&mut self, posted: Vec<usize>) -> Step {
            let busy = self.busy.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_busy.fetch_max(busy, Ordering::SeqCst);
            std::thread::yield_now();
            self.steps.fetch_add(1, Ordering::SeqCst);
            let seen = self.seen.fetch_add(posted.len(), Ordering::SeqCst) + posted.len();
            self.busy.fetch_sub(1, Ordering::SeqCst);
            if seen >= self.until {
                Step::Done
            } else {
                Step::Wait(None)
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_task_runs_on_one_thread_at_a_time_and_misses_no_posted_work() {
        let pool = Pool::start(4).unwrap();
        let (steps, seen, busy, most_busy) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        let slot = Slot::new(&pool, |_| Counter {
            steps: steps.clone(),
            seen: seen.clone(),
            until: 4_000,
            busy: busy.clone(),
            most_busy: most_busy.clone(),
        });
        let posters: Vec<_> = (0..4)
            .map(|_| {
                let slot = slot.clone();
                std::thread::spawn(move || {
                    for i in 0..1_000 {
                        slot.post(i);
                    }
                })
            })
            .collect();
        for p in posters {
            p.join().unwrap();
        }
        for _ in 0..500 {
            if slot.is_done() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(slot.is_done(), "every post was seen: {seen:?}");
        assert_eq!(seen.load(Ordering::SeqCst), 4_000);
        assert_eq!(
            most_busy.load(Ordering::SeqCst),
            1,
            "never two steps at once"
        );
        assert!(steps.load(Ordering::SeqCst) <= 4_000);
        pool.close();
    }

    /// Finishes on its second step, which only a timer brings.
    struct Sleeper {
        woke: Arc<AtomicUsize>,
        at: Instant,
    }

    impl Task for Sleeper {
        type Posted = ();
        fn step(&mut self, _: Vec<()>) -> Step {
            let n = self.woke.fetch_add(1, Ordering::SeqCst);
            if n == 0 || Instant::now() < self.at {
                Step::Wait(Some(self.at))
            } else {
                Step::Done
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_task_that_waits_for_a_moment_is_woken_then() {
        let pool = Pool::start(2).unwrap();
        let woke = Arc::new(AtomicUsize::new(0));
        let at = Instant::now() + std::time::Duration::from_millis(50);
        let slot = Slot::new(&pool, |_| Sleeper {
            woke: woke.clone(),
            at,
        });
        slot.schedule();
        for _ in 0..300 {
            if slot.is_done() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(slot.is_done(), "the timer woke it");
        assert!(Instant::now() >= at);
        assert!(woke.load(Ordering::SeqCst) >= 2);
        pool.close();
    }
}

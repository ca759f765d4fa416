"""kernel32 synchronisation: events, mutexes, semaphores, WaitForSingleObject /
WaitForMultipleObjects, critical sections, SRW locks, condition variables and
InitOnceExecuteOnce (and msvcrt's _lock/_unlock, which are critical sections).

The objects and the blocking rule are in ../sync.py.  Critical sections, SRW
locks and condition variables are keyed by their guest address; their state is
kept in Python rather than in the guest structure (nothing outside kernel32
reads those fields).
"""
from __future__ import annotations

from .. import strings, sync, winerror as W
from ..handles import FileObject
from ..spec import PARTIAL, cdecl, fn
from ..sync import Event, INFINITE, Mutex, Semaphore, Waitable
from .k32_files import fail

WAIT_OBJECT_0, WAIT_ABANDONED_0, WAIT_TIMEOUT, WAIT_FAILED = 0, 0x80, 0x102, 0xFFFFFFFF
MAXIMUM_WAIT_OBJECTS = 64
ERROR_TOO_MANY_POSTS = 298
ERROR_NOT_OWNER = 288
ERROR_TIMEOUT = 1460
CONDITION_VARIABLE_LOCKMODE_SHARED = 1
INIT_ONCE_DONE = 2                   # low bits of the INIT_ONCE pointer: 1 pending, 2 done


# -- named objects and handles ---------------------------------------------------------
def _create(p, name, wide, kind, make):
    """A new object, or with a ``name`` the existing one of that name (last error
    ERROR_ALREADY_EXISTS) as Windows' Create* calls do."""
    names = p.kernel.names
    name = strings.read(p.mem, name, wide) if name else ""
    if name:
        old = names.get(name)
        if old is not None:
            if not isinstance(old, kind):
                return fail(p, W.ERROR_INVALID_HANDLE)
            p.set_last_error(W.ERROR_ALREADY_EXISTS)
            return p.handles.add(old)
    obj = make()
    if obj is None:
        return fail(p, W.ERROR_INVALID_PARAMETER)
    if name:
        names[name] = obj
    p.set_last_error(0)
    return p.handles.add(obj)


def _waitable(p, h):
    from .k32_thread import thread_of
    obj = thread_of(p, h) or p.handles.get(h)
    if isinstance(obj, Waitable):
        return obj
    if isinstance(obj, FileObject):
        return sync.Signaled()
    return None


def _event(p, manual, initial, name, wide):
    return _create(p, name, wide, Event, lambda: Event(bool(manual), bool(initial)))


def CreateEventA(p, security, manual, initial, name):
    return _event(p, manual, initial, name, False)


def CreateEventW(p, security, manual, initial, name):
    return _event(p, manual, initial, name, True)


def SetEvent(p, h):
    ev = p.handles.get(h)
    if not isinstance(ev, Event):
        return fail(p, W.ERROR_INVALID_HANDLE)
    ev.signaled = True
    sync.wake(p)
    return 1


def ResetEvent(p, h):
    ev = p.handles.get(h)
    if not isinstance(ev, Event):
        return fail(p, W.ERROR_INVALID_HANDLE)
    ev.signaled = False
    return 1


def _mutex(p, owned, name, wide):
    def make():
        m = Mutex()
        if owned:
            m.take(p.tid)
        p.kernel.mutexes.add(m)
        return m
    return _create(p, name, wide, Mutex, make)


def CreateMutexA(p, security, owned, name):
    return _mutex(p, owned, name, False)


def CreateMutexW(p, security, owned, name):
    return _mutex(p, owned, name, True)


def ReleaseMutex(p, h):
    m = p.handles.get(h)
    if not isinstance(m, Mutex):
        return fail(p, W.ERROR_INVALID_HANDLE)
    if m.owner != p.tid:
        return fail(p, ERROR_NOT_OWNER)
    m.count -= 1
    if m.count == 0:
        m.owner = 0
        sync.wake(p)
    return 1


def _semaphore(p, initial, maximum, name, wide):
    initial, maximum = _signed(initial), _signed(maximum)
    valid = maximum > 0 and 0 <= initial <= maximum
    return _create(p, name, wide, Semaphore, lambda: Semaphore(initial, maximum) if valid else None)


def CreateSemaphoreA(p, security, initial, maximum, name):
    return _semaphore(p, initial, maximum, name, False)


def CreateSemaphoreW(p, security, initial, maximum, name):
    return _semaphore(p, initial, maximum, name, True)


def _signed(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def ReleaseSemaphore(p, h, count, prev):
    s = p.handles.get(h)
    if not isinstance(s, Semaphore):
        return fail(p, W.ERROR_INVALID_HANDLE)
    count = _signed(count)
    if count <= 0:
        return fail(p, W.ERROR_INVALID_PARAMETER)
    if s.count + count > s.maximum:
        return fail(p, ERROR_TOO_MANY_POSTS)
    if prev:
        p.mem.put_u32(prev, s.count)
    s.count += count
    sync.wake(p)
    return 1


# -- waits -----------------------------------------------------------------------------
def _wait(p, objs, wait_all, ms):
    tid = p.tid
    if wait_all:
        def ready():
            return all(o.ready(tid) for o in objs)
    else:
        def ready():
            return any(o.ready(tid) for o in objs)
    if not sync.wait_until(p, ready, ms):
        return WAIT_TIMEOUT
    if wait_all:
        abandoned = [i for i, o in enumerate(objs) if o.take(tid)]
        return WAIT_ABANDONED_0 + abandoned[0] if abandoned else WAIT_OBJECT_0
    i = next(i for i, o in enumerate(objs) if o.ready(tid))
    return (WAIT_ABANDONED_0 if objs[i].take(tid) else WAIT_OBJECT_0) + i


def WaitForSingleObject(p, h, ms):
    obj = _waitable(p, h)
    if obj is None:
        return fail(p, W.ERROR_INVALID_HANDLE, WAIT_FAILED)
    return _wait(p, [obj], False, ms)


def WaitForSingleObjectEx(p, h, ms, alertable):
    return WaitForSingleObject(p, h, ms)


def WaitForMultipleObjects(p, n, handles, wait_all, ms):
    if not 0 < n <= MAXIMUM_WAIT_OBJECTS:
        return fail(p, W.ERROR_INVALID_PARAMETER, WAIT_FAILED)
    objs = [_waitable(p, p.mem.ptr(handles + p.ptr * i)) for i in range(n)]
    if None in objs:
        return fail(p, W.ERROR_INVALID_HANDLE, WAIT_FAILED)
    return _wait(p, objs, bool(wait_all), ms)


def WaitForMultipleObjectsEx(p, n, handles, wait_all, ms, alertable):
    return WaitForMultipleObjects(p, n, handles, wait_all, ms)


# -- critical sections (and msvcrt's numbered locks) --------------------------------------
def InitializeCriticalSection(p, cs):
    size = 40 if p.bits == 64 else 24
    p.mem.write(cs, bytes(size))
    p.mem.put_u32(cs + p.ptr, 0xFFFFFFFF)        # LockCount = -1: free
    p.kernel.locks.pop(cs, None)


def InitializeCriticalSectionAndSpinCount(p, cs, spin):
    InitializeCriticalSection(p, cs)
    return 1


def InitializeCriticalSectionEx(p, cs, spin, flags):
    InitializeCriticalSection(p, cs)
    return 1


def EnterCriticalSection(p, cs):
    p.mem.u32(cs)             # a bad pointer faults as on Windows
    sync.enter(p, cs)


def TryEnterCriticalSection(p, cs):
    p.mem.u32(cs)
    return int(sync.try_enter(p, cs))


def LeaveCriticalSection(p, cs):
    sync.leave(p, cs)


def DeleteCriticalSection(p, cs):
    p.mem.u32(cs)
    p.kernel.locks.pop(cs, None)


def crt_lock(p, n):
    sync.enter(p, ("crt", n))


def crt_unlock(p, n):
    sync.leave(p, ("crt", n))


# -- SRW locks: [exclusive owner, shared holders] ------------------------------------------
def _srw(p, lock):
    st = p.kernel.srw.get(lock)
    if st is None:
        st = p.kernel.srw[lock] = [0, 0]
    return st


def InitializeSRWLock(p, lock):
    p.mem.put_ptr(lock, 0)
    p.kernel.srw.pop(lock, None)


def AcquireSRWLockExclusive(p, lock):
    st = _srw(p, lock)
    sync.wait_until(p, lambda: not st[0] and not st[1], INFINITE)
    st[0] = p.tid


def AcquireSRWLockShared(p, lock):
    st = _srw(p, lock)
    sync.wait_until(p, lambda: not st[0], INFINITE)
    st[1] += 1


def TryAcquireSRWLockExclusive(p, lock):
    st = _srw(p, lock)
    if st[0] or st[1]:
        return 0
    st[0] = p.tid
    return 1


def TryAcquireSRWLockShared(p, lock):
    st = _srw(p, lock)
    if st[0]:
        return 0
    st[1] += 1
    return 1


def ReleaseSRWLockExclusive(p, lock):
    st = _srw(p, lock)
    st[0] = 0
    sync.wake(p)


def ReleaseSRWLockShared(p, lock):
    st = _srw(p, lock)
    if st[1]:
        st[1] -= 1
    if not st[1]:
        sync.wake(p)


# -- condition variables: a queue of waiter tickets ----------------------------------------
def InitializeConditionVariable(p, cv):
    p.mem.put_ptr(cv, 0)
    p.kernel.cvs.pop(cv, None)


def _sleep_on(p, cv, ms, release, reacquire):
    ticket = [False]
    p.kernel.cvs.setdefault(cv, []).append(ticket)
    held = release()
    woken = sync.wait_until(p, lambda: ticket[0], ms)
    if not woken:
        queue = p.kernel.cvs.get(cv, [])
        if ticket in queue:
            queue.remove(ticket)
    reacquire(held)
    if not woken:
        return fail(p, ERROR_TIMEOUT)
    return 1


def SleepConditionVariableCS(p, cv, cs, ms):
    def reacquire(levels):
        for _ in range(levels):
            sync.enter(p, cs)
    return _sleep_on(p, cv, ms, lambda: sync.leave(p, cs, 0), reacquire)


def SleepConditionVariableSRW(p, cv, lock, ms, flags):
    if flags & CONDITION_VARIABLE_LOCKMODE_SHARED:
        return _sleep_on(p, cv, ms, lambda: ReleaseSRWLockShared(p, lock),
                         lambda _: AcquireSRWLockShared(p, lock))
    return _sleep_on(p, cv, ms, lambda: ReleaseSRWLockExclusive(p, lock),
                     lambda _: AcquireSRWLockExclusive(p, lock))


def WakeConditionVariable(p, cv):
    queue = p.kernel.cvs.get(cv)
    if queue:
        queue.pop(0)[0] = True
        sync.wake(p)


def WakeAllConditionVariable(p, cv):
    queue = p.kernel.cvs.pop(cv, None)
    if queue:
        for ticket in queue:
            ticket[0] = True
        sync.wake(p)


# -- one-time initialisation: the state lives in the INIT_ONCE pointer itself ---------------
def InitOnceExecuteOnce(p, once, callback, param, context):
    """Runs ``callback(once, param, &ctx)`` in the first caller; others wait for it.
    Done: the pointer holds ctx | 2 (ctx keeps its two low bits clear)."""
    from ..process import Call
    state = p.mem.ptr(once)
    if state & 3 == 1:
        sync.wait_until(p, lambda: p.mem.ptr(once) & 3 != 1, INFINITE)
        state = p.mem.ptr(once)
    if state & 3 != INIT_ONCE_DONE:
        p.mem.put_ptr(once, 1)
        slot = p.heap.alloc(p.ptr, zero=True)
        ok = yield Call(callback, (once, param, slot))
        value = p.mem.ptr(slot)
        p.heap.free(slot)
        state = (value & ~3) | INIT_ONCE_DONE if ok & 0xFFFFFFFF else 0
        p.mem.put_ptr(once, state)
        sync.wake(p)
        if not state:
            return 0
    if context:
        p.mem.put_ptr(context, state & ~3)
    return 1


def InitOnceInitialize(p, once):
    p.mem.put_ptr(once, 0)


NAMED = "security attributes are ignored; names are per process"
ROWS = [
    fn("CreateEventA", CreateEventA, "ptr bool bool str", "handle", level=PARTIAL, note=NAMED),
    fn("CreateEventW", CreateEventW, "ptr bool bool wstr", "handle", level=PARTIAL, note=NAMED),
    fn("SetEvent", SetEvent, "handle", "bool"),
    fn("ResetEvent", ResetEvent, "handle", "bool"),
    fn("CreateMutexA", CreateMutexA, "ptr bool str", "handle", level=PARTIAL, note=NAMED),
    fn("CreateMutexW", CreateMutexW, "ptr bool wstr", "handle", level=PARTIAL, note=NAMED),
    fn("ReleaseMutex", ReleaseMutex, "handle", "bool"),
    fn("CreateSemaphoreA", CreateSemaphoreA, "ptr long long str", "handle", level=PARTIAL, note=NAMED),
    fn("CreateSemaphoreW", CreateSemaphoreW, "ptr long long wstr", "handle", level=PARTIAL, note=NAMED),
    fn("ReleaseSemaphore", ReleaseSemaphore, "handle long ptr", "bool"),
    fn("WaitForSingleObject", WaitForSingleObject, "handle uint", "uint"),
    fn("WaitForSingleObjectEx", WaitForSingleObjectEx, "handle uint bool", "uint", level=PARTIAL,
       note="no APCs: never alerted"),
    fn("WaitForMultipleObjects", WaitForMultipleObjects, "uint ptr bool uint", "uint"),
    fn("WaitForMultipleObjectsEx", WaitForMultipleObjectsEx, "uint ptr bool uint bool", "uint",
       level=PARTIAL, note="no APCs: never alerted"),
    fn("InitializeCriticalSection", InitializeCriticalSection, "ptr", "void"),
    fn("InitializeCriticalSectionAndSpinCount", InitializeCriticalSectionAndSpinCount, "ptr uint", "bool"),
    fn("InitializeCriticalSectionEx", InitializeCriticalSectionEx, "ptr uint uint", "bool"),
    fn("EnterCriticalSection", EnterCriticalSection, "ptr", "void", level=PARTIAL,
       note="owner and recursion are kept by guise, not in the structure's fields"),
    fn("TryEnterCriticalSection", TryEnterCriticalSection, "ptr", "bool"),
    fn("LeaveCriticalSection", LeaveCriticalSection, "ptr", "void"),
    fn("DeleteCriticalSection", DeleteCriticalSection, "ptr", "void"),
    fn("InitializeSRWLock", InitializeSRWLock, "ptr", "void"),
    fn("AcquireSRWLockExclusive", AcquireSRWLockExclusive, "ptr", "void"),
    fn("AcquireSRWLockShared", AcquireSRWLockShared, "ptr", "void"),
    fn("TryAcquireSRWLockExclusive", TryAcquireSRWLockExclusive, "ptr", "bool"),
    fn("TryAcquireSRWLockShared", TryAcquireSRWLockShared, "ptr", "bool"),
    fn("ReleaseSRWLockExclusive", ReleaseSRWLockExclusive, "ptr", "void"),
    fn("ReleaseSRWLockShared", ReleaseSRWLockShared, "ptr", "void"),
    fn("InitializeConditionVariable", InitializeConditionVariable, "ptr", "void"),
    fn("SleepConditionVariableCS", SleepConditionVariableCS, "ptr ptr uint", "bool"),
    fn("SleepConditionVariableSRW", SleepConditionVariableSRW, "ptr ptr uint uint", "bool"),
    fn("WakeConditionVariable", WakeConditionVariable, "ptr", "void"),
    fn("WakeAllConditionVariable", WakeAllConditionVariable, "ptr", "void"),
    fn("InitOnceInitialize", InitOnceInitialize, "ptr", "void"),
    fn("InitOnceExecuteOnce", InitOnceExecuteOnce, "ptr ptr ptr ptr", "bool"),
]

CRT_ROWS = [
    cdecl("_lock", crt_lock, "int", "void"),
    cdecl("_unlock", crt_unlock, "int", "void"),
]

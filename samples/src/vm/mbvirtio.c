/* A multiboot-1 kernel that drives virtio devices by polling, for `guise vm run
 * --multiboot ... --disk FILE` and `--console virtio` on both CPU back ends
 * (tests/test_vm_virtio.py, test_vm_kvm.py).  It stays in flat 32-bit protected mode with
 * paging and interrupts off: the point is the virtio-mmio transport and the
 * back end's MMIO path, not the CPU's modes (samples/src/vm/mbkernel.S does
 * those).
 *
 * It looks for virtio-mmio register windows where guise's PC puts them (one
 * page each from 0xd0000000; a window nobody answers reads as all ones),
 * negotiates VIRTIO_F_VERSION_1 and nothing else, and then
 *   a block device (ID 2): reads sector 0 with one request and prints it on
 *     the UART up to its first NUL byte, with the capacity and the status;
 *   a console device (ID 3): writes a line to port 0's transmit queue and, if
 *     the command line says "echo", waits for one line on its receive queue
 *     and sends it back prefixed with "echo: ".
 * It powers off through port 0xf4 with code 0, or 1 if a device misbehaved.
 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

__asm__(".text\n.align 4\n"
        ".long 0x1BADB002, 0x3, -(0x1BADB002 + 0x3)\n"     /* the multiboot header */
        ".globl _start\n_start:\n"
        "cli\nmov $stack_top, %esp\npush %ebx\npush %eax\ncall kmain\n"
        "1: cli\nhlt\njmp 1b\n");

#define COM1 0x3F8
#define MMIO_BASE 0xD0000000u
#define MMIO_STRIDE 0x1000
#define MMIO_SLOTS 6
#define QSIZE 8

enum {  /* virtio-mmio version 2 registers */
    MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, DEVICE_FEATURES = 0x010, DEVICE_FEATURES_SEL = 0x014,
    DRIVER_FEATURES = 0x020, DRIVER_FEATURES_SEL = 0x024, QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034,
    QUEUE_NUM = 0x038, QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050, INTERRUPT_STATUS = 0x060,
    INTERRUPT_ACK = 0x064, STATUS = 0x070, QUEUE_DESC = 0x080, QUEUE_DRIVER = 0x090, QUEUE_DEVICE = 0x0A0,
    CONFIG = 0x100,
};
enum { ACKNOWLEDGE = 1, DRIVER = 2, DRIVER_OK = 4, FEATURES_OK = 8 };
enum { DESC_NEXT = 1, DESC_WRITE = 2 };

static u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }

static void putc(char c) {
    while (!(inb(COM1 + 5) & 0x20)) {}
    outb(COM1, c);
}
static void puts(const char *s) { while (*s) putc(*s++); }
static void puthex(u32 v) {
    puts("0x");
    for (int shift = 28; shift >= 0; shift -= 4) putc("0123456789abcdef"[(v >> shift) & 15]);
}
static void putdec(u32 v) {
    char buf[12]; int n = 0;
    do { buf[n++] = '0' + v % 10; v /= 10; } while (v);
    while (n) putc(buf[--n]);
}

static u32 rd(u32 base, u32 reg) { return *(volatile u32 *)(base + reg); }
static void wr(u32 base, u32 reg, u32 v) { *(volatile u32 *)(base + reg) = v; }

struct desc { u64 addr; u32 len; u16 flags, next; };
struct queue {                      /* one split virtqueue: the three parts, aligned */
    struct desc desc[QSIZE] __attribute__((aligned(16)));
    struct { u16 flags, idx, ring[QSIZE], event; } avail __attribute__((aligned(2)));
    struct { u16 flags, idx; struct { u32 id, len; } ring[QSIZE]; u16 event; } used __attribute__((aligned(4)));
    u16 last_used;
};
static struct queue queues[3];      /* the block request queue, the console's receive and transmit */
static int failed;

static void fail(const char *what) {
    puts("virtio: ");
    puts(what);
    putc('\n');
    failed = 1;
}

/* reset, acknowledge, offer only VERSION_1; 0 if the device refuses it */
static int negotiate(u32 base) {
    wr(base, STATUS, 0);
    wr(base, STATUS, ACKNOWLEDGE | DRIVER);
    wr(base, DEVICE_FEATURES_SEL, 1);
    if (!(rd(base, DEVICE_FEATURES) & 1)) { fail("no VIRTIO_F_VERSION_1"); return 0; }
    wr(base, DRIVER_FEATURES_SEL, 0);
    wr(base, DRIVER_FEATURES, 0);
    wr(base, DRIVER_FEATURES_SEL, 1);
    wr(base, DRIVER_FEATURES, 1);
    wr(base, STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK);
    if (!(rd(base, STATUS) & FEATURES_OK)) { fail("FEATURES_OK refused"); return 0; }
    return 1;
}

static void setup_queue(u32 base, u32 index, struct queue *q) {
    wr(base, QUEUE_SEL, index);
    if (rd(base, QUEUE_NUM_MAX) < QSIZE) { fail("queue too small"); return; }
    wr(base, QUEUE_NUM, QSIZE);
    wr(base, QUEUE_DESC, (u32)q->desc);
    wr(base, QUEUE_DESC + 4, 0);
    wr(base, QUEUE_DRIVER, (u32)&q->avail);
    wr(base, QUEUE_DRIVER + 4, 0);
    wr(base, QUEUE_DEVICE, (u32)&q->used);
    wr(base, QUEUE_DEVICE + 4, 0);
    wr(base, QUEUE_READY, 1);
}

/* make descriptors [0, n) one chain, offer it, tell the device; no waiting */
static void offer(u32 base, u32 index, struct queue *q, int n) {
    for (int i = 0; i < n; i++) {
        q->desc[i].flags |= i + 1 < n ? DESC_NEXT : 0;
        q->desc[i].next = i + 1;
    }
    q->avail.ring[q->avail.idx % QSIZE] = 0;
    __asm__ volatile("" ::: "memory");
    q->avail.idx++;
    __asm__ volatile("" ::: "memory");
    wr(base, QUEUE_NOTIFY, index);
}

/* poll until the device has used the chain; the bytes it wrote */
static u32 wait_used(u32 base, struct queue *q) {
    while (*(volatile u16 *)&q->used.idx == q->last_used) {}
    u32 len = q->used.ring[q->last_used % QSIZE].len;
    q->last_used++;
    wr(base, INTERRUPT_ACK, rd(base, INTERRUPT_STATUS));
    return len;
}

static struct { u32 type, reserved; u64 sector; } blk_header;
static u8 sector[512];
static u8 blk_status;

static void drive_blk(u32 base) {
    struct queue *q = &queues[0];
    if (!negotiate(base)) return;
    setup_queue(base, 0, q);
    wr(base, STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
    u32 capacity = rd(base, CONFIG);
    blk_header.type = 0;                            /* VIRTIO_BLK_T_IN */
    blk_header.sector = 0;
    blk_status = 0xFF;
    q->desc[0] = (struct desc){(u32)&blk_header, sizeof blk_header, 0, 0};
    q->desc[1] = (struct desc){(u32)sector, sizeof sector, DESC_WRITE, 0};
    q->desc[2] = (struct desc){(u32)&blk_status, 1, DESC_WRITE, 0};
    offer(base, 0, q, 3);
    u32 written = wait_used(base, q);
    puts("virtio-blk: ");
    putdec(capacity);
    puts(" sectors; sector 0 read with status ");
    putdec(blk_status);
    puts(", ");
    putdec(written);
    puts(" bytes\n");
    if (blk_status != 0 || written != sizeof sector + 1) { fail("block read failed"); return; }
    puts("sector 0: ");
    for (u32 i = 0; i < sizeof sector && sector[i]; i++) putc(sector[i]);
    putc('\n');
}

static char tx[128], rx[64];

static void console_send(u32 base, const char *s, u32 n) {
    struct queue *q = &queues[2];
    for (u32 i = 0; i < n; i++) tx[i] = s[i];
    q->desc[0] = (struct desc){(u32)tx, n, 0, 0};
    offer(base, 1, q, 1);
    wait_used(base, q);
}

static u32 length(const char *s) { u32 n = 0; while (s[n]) n++; return n; }

static void drive_console(u32 base, int echo) {
    if (!negotiate(base)) return;
    setup_queue(base, 0, &queues[1]);
    setup_queue(base, 1, &queues[2]);
    wr(base, STATUS, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
    const char *hello = "hello over virtio-console\n";
    console_send(base, hello, length(hello));
    puts("virtio-console: wrote a line to port 0\n");
    if (!echo) return;
    /* one line from the receive queue, however many buffers it comes in */
    char line[sizeof tx];
    u32 got = 0;
    const char *prefix = "echo: ";
    while (*prefix) line[got++] = *prefix++;
    for (;;) {
        queues[1].desc[0] = (struct desc){(u32)rx, sizeof rx, DESC_WRITE, 0};
        offer(base, 0, &queues[1], 1);
        u32 n = wait_used(base, &queues[1]);
        for (u32 i = 0; i < n && got < sizeof line; i++) line[got++] = rx[i];
        if (got == sizeof line || (n && rx[n - 1] == '\n')) break;
    }
    console_send(base, line, got);
}

void kmain(u32 magic, u32 *info) {
    puts("guise virtio kernel\n");
    if (magic != 0x2BADB002) { puts("not started by a multiboot loader\n"); return; }
    const char *cmdline = (info[0] & 4) ? (const char *)info[4] : "";
    int echo = cmdline[0] == 'e' && cmdline[1] == 'c' && cmdline[2] == 'h' && cmdline[3] == 'o';
    int found = 0;
    for (u32 slot = 0; slot < MMIO_SLOTS; slot++) {
        u32 base = MMIO_BASE + slot * MMIO_STRIDE;
        if (rd(base, MAGIC) != 0x74726976) continue;
        u32 id = rd(base, DEVICE_ID);
        found++;
        puts("virtio-mmio at ");
        puthex(base);
        puts(": version ");
        putdec(rd(base, VERSION));
        puts(", device ");
        putdec(id);
        putc('\n');
        if (rd(base, VERSION) != 2) fail("not virtio-mmio version 2");
        else if (id == 2) drive_blk(base);
        else if (id == 3) drive_console(base, echo);
    }
    puts("virtio devices: ");
    putdec(found);
    putc('\n');
    outb(0xF4, failed);
}

__asm__(".bss\n.align 16\n.skip 16384\nstack_top:\n");

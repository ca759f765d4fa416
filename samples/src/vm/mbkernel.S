/* A tiny multiboot-1 kernel for `guise vm run --multiboot`: it exercises what a
 * virtual PC must get right before a real kernel can boot — the multiboot entry
 * state and information structure, its own GDT, the switch to long mode (PAE
 * page tables identity-mapping the first GiB, EFER.LME, paging on, a far jump
 * to 64-bit code) and a 64-bit IDT, the PIC remapped and the PIT ticking at
 * 100 Hz into an interrupt handler (IRETQ), the CMOS clock, the serial console
 * — then ends the way its command line says:
 *   a number N   power off through port 0xf4 with exit code N (default 0)
 *   halt         cli; hlt (nothing can wake it)
 *   reboot       reset through the i8042 (command 0xfe)
 *   fault        an exception with no IDT to take it (a triple fault on a PC)
 * Everything after the mode switch is 64-bit code, as a software hypervisor
 * such as PVM emulates a 64-bit IRETQ but not a 32-bit IRET.
 */
        .set MB_MAGIC, 0x1BADB002
        .set MB_FLAGS, 0x3                      /* page-aligned modules, memory info */
        .set COM1, 0x3F8

        .text
        .align 4
        .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)   /* the header, first in .text */
        .globl _start
_start:
        cli
        mov $stack_top, %esp
        cmp $0x2BADB002, %eax
        jne bad_loader
        mov %ebx, mbinfo

        lgdt gdt_ptr
        ljmp $0x08, $1f
1:      mov $0x10, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss

        /* long mode: PML4 -> PDPT -> one PD of 512 2 MiB pages (the first GiB) */
        mov $pd, %edi
        mov $0x83, %eax                         /* present, writable, 2 MiB page */
        xor %ecx, %ecx
2:      mov %eax, (%edi,%ecx,8)
        add $0x200000, %eax
        inc %ecx
        cmp $512, %ecx
        jne 2b
        movl $pd + 3, pdpt
        movl $pdpt + 3, pml4
        mov $pml4, %eax
        mov %eax, %cr3
        mov %cr4, %eax
        or $0x20, %eax                          /* PAE */
        mov %eax, %cr4
        mov $0xC0000080, %ecx                   /* EFER.LME */
        rdmsr
        or $0x100, %eax
        wrmsr
        mov %cr0, %eax
        or $0x80000000, %eax                    /* paging on: long mode is active */
        mov %eax, %cr0
        ljmp $0x18, $long_start

bad_loader:
        mov $msg_bad, %esi
1:      lodsb
        test %al, %al
        jz 3f
        mov %al, %ah
        mov $COM1 + 5, %dx
2:      in %dx, %al
        test $0x20, %al
        jz 2b
        mov %ah, %al
        mov $COM1, %dx
        out %al, %dx
        jmp 1b
3:      cli
        hlt
        jmp 3b

        .code64
long_start:
        mov $stack_top, %esp

        /* IDT: every vector to `ignore`, the timer (0x20) to `timer` */
        mov $idt, %edi
        xor %ecx, %ecx
2:      mov $ignore, %eax
        cmp $0x20, %ecx
        jne 3f
        mov $timer, %eax
3:      mov %ax, (%rdi)
        movw $0x18, 2(%rdi)
        movw $0x8E00, 4(%rdi)                   /* present, ring 0, 64-bit interrupt gate */
        shr $16, %eax
        mov %ax, 6(%rdi)
        movq $0, 8(%rdi)
        add $16, %rdi
        inc %ecx
        cmp $256, %ecx
        jne 2b
        lidt idt_ptr(%rip)

        /* PIC: master at 0x20, slave at 0x28; only IRQ 0 unmasked */
        mov $0x11, %al
        out %al, $0x20
        out %al, $0xA0
        mov $0x20, %al
        out %al, $0x21
        mov $0x28, %al
        out %al, $0xA1
        mov $4, %al
        out %al, $0x21
        mov $2, %al
        out %al, $0xA1
        mov $1, %al
        out %al, $0x21
        out %al, $0xA1
        mov $0xFE, %al
        out %al, $0x21
        mov $0xFF, %al
        out %al, $0xA1

        /* PIT channel 0: square wave at 100 Hz (1193182 / 11932) */
        mov $0x36, %al
        out %al, $0x43
        mov $11932 & 0xFF, %al
        out %al, $0x40
        mov $11932 >> 8, %al
        out %al, $0x40

        mov $msg_hello, %esi
        call puts
        mov $msg_cmdline, %esi
        call puts
        mov mbinfo(%rip), %ebx
        mov 16(%rbx), %esi                      /* multiboot info: cmdline */
        mov %esi, cmdline(%rip)
        call puts
        mov $msg_mem, %esi
        call puts
        mov mbinfo(%rip), %ebx
        mov 8(%rbx), %eax                       /* mem_upper, KiB */
        shr $10, %eax
        call putdec
        mov $msg_mib, %esi
        call puts

        /* CMOS: century and year, BCD */
        mov $msg_year, %esi
        call puts
        mov $0x32, %al
        call cmos_bcd
        call putdec
        mov $0x09, %al
        call cmos_bcd
        cmp $10, %eax
        jae 4f
        push %rax
        mov $'0', %al
        call putc
        pop %rax
4:      call putdec
        mov $'\n', %al
        call putc

        /* ten timer ticks, sleeping in HLT between them */
        sti
5:      hlt
        cmpl $10, ticks(%rip)
        jb 5b
        cli
        mov $msg_ticks, %esi
        call puts
        mov ticks(%rip), %eax
        call putdec
        mov $'\n', %al
        call putc

        /* the ending the command line asks for */
        mov cmdline(%rip), %esi
        movzbl (%rsi), %eax
        cmp $'h', %al
        je do_halt
        cmp $'r', %al
        je do_reboot
        cmp $'f', %al
        je do_fault
        xor %ecx, %ecx                          /* a decimal exit code */
6:      movzbl (%rsi), %eax
        sub $'0', %eax
        cmp $9, %eax
        ja 7f
        imul $10, %ecx
        add %eax, %ecx
        inc %rsi
        jmp 6b
7:      mov $msg_off, %esi
        call puts
        mov %ecx, %eax
        out %al, $0xF4
        jmp do_halt

do_reboot:
        mov $msg_reboot, %esi
        call puts
        mov $0xFE, %al
        out %al, $0x64
do_halt:
        cli
        hlt
        jmp do_halt
do_fault:
        lidt idt_none(%rip)
        ud2

/* interrupt handlers */
timer:
        push %rax
        incl ticks(%rip)
        mov $0x20, %al                          /* EOI */
        out %al, $0x20
        pop %rax
        iretq
ignore:
        iretq

/* serial output: putc(%al), puts(%rsi), putdec(%eax) */
putc:
        push %rdx
        push %rax
        mov $COM1 + 5, %dx
1:      in %dx, %al
        test $0x20, %al
        jz 1b
        pop %rax
        mov $COM1, %dx
        out %al, %dx
        pop %rdx
        ret
puts:
        push %rax
1:      lodsb
        test %al, %al
        jz 2f
        call putc
        jmp 1b
2:      pop %rax
        ret
putdec:
        push %rbx
        push %rcx
        push %rdx
        mov $10, %ebx
        xor %ecx, %ecx
1:      xor %edx, %edx
        div %ebx
        push %rdx
        inc %ecx
        test %eax, %eax
        jnz 1b
2:      pop %rax
        add $'0', %al
        call putc
        loop 2b
        pop %rdx
        pop %rcx
        pop %rbx
        ret
/* cmos_bcd: CMOS register %al -> binary value in %eax */
cmos_bcd:
        out %al, $0x70
        in $0x71, %al
        movzbl %al, %eax
        mov %eax, %edx
        shr $4, %eax
        imul $10, %eax
        and $0x0F, %edx
        add %edx, %eax
        ret

        .data
        .align 8
gdt:    .quad 0
        .quad 0x00CF9A000000FFFF                /* 0x08: 32-bit code, flat 4 GiB */
        .quad 0x00CF92000000FFFF                /* 0x10: data, flat 4 GiB */
        .quad 0x00AF9A000000FFFF                /* 0x18: 64-bit code */
gdt_ptr: .word gdt_ptr - gdt - 1
        .long gdt
idt_ptr: .word 256 * 16 - 1
        .long idt, 0                            /* a 64-bit base (the ELF is 32-bit) */
idt_none: .word 0
        .quad 0
mbinfo: .long 0
cmdline: .long 0
ticks:  .long 0
msg_hello:   .asciz "guise multiboot kernel\n"
msg_cmdline: .asciz "cmdline: "
msg_mem:     .asciz "\nmemory above 1 MiB: "
msg_mib:     .asciz " MiB\n"
msg_year:    .asciz "rtc year: "
msg_ticks:   .asciz "timer ticks: "
msg_off:     .asciz "powering off\n"
msg_reboot:  .asciz "rebooting\n"
msg_bad:     .asciz "not started by a multiboot loader\n"

        .bss
        .align 4096
pml4:   .skip 4096
pdpt:   .skip 4096
pd:     .skip 4096
idt:    .skip 256 * 16
        .skip 16384
stack_top:

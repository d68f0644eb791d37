//! PVH entry: QEMU starts us in 32-bit protected mode with paging off and `ebx` pointing at `hvm_start_info`.
//! We build boot page tables (identity for the first 4 GiB, the physical map at `PHYS_OFFSET`, and the
//! kernel image at -2 GiB), enter long mode and call `kernel_entry(start_info_phys)` on the boot stack.

core::arch::global_asm!(
    r#"
.section .note.Xen, "a"
.balign 4
.long 4
.long 8
.long 18            /* XEN_ELFNOTE_PHYS32_ENTRY */
.asciz "Xen"
.balign 4
.quad pvh_start32

.section .boot32, "awx"
.code32
.global pvh_start32
pvh_start32:
    cli
    cld
    mov esi, ebx

    /* 2048 PD entries of 2 MiB: physical 0..4 GiB */
    mov edi, offset boot_pd
    xor ecx, ecx
2:
    mov eax, ecx
    shl eax, 21
    or eax, 0x83
    mov [edi + ecx*8], eax
    mov dword ptr [edi + ecx*8 + 4], 0
    inc ecx
    cmp ecx, 2048
    jne 2b

    mov eax, offset boot_pd
    or eax, 3
    mov [boot_pdpt_low], eax
    mov [boot_pdpt_high + 510*8], eax
    add eax, 4096
    mov [boot_pdpt_low + 8], eax
    mov [boot_pdpt_high + 511*8], eax
    add eax, 4096
    mov [boot_pdpt_low + 16], eax
    add eax, 4096
    mov [boot_pdpt_low + 24], eax

    mov eax, offset boot_pdpt_low
    or eax, 3
    mov [boot_pml4], eax
    mov [boot_pml4 + 256*8], eax
    mov eax, offset boot_pdpt_high
    or eax, 3
    mov [boot_pml4 + 511*8], eax

    /* CR4: PAE, OSFXSR, OSXMMEXCPT */
    mov eax, cr4
    or eax, 0x620
    mov cr4, eax
    mov eax, offset boot_pml4
    mov cr3, eax
    /* EFER: SCE, LME, NXE */
    mov ecx, 0xC0000080
    rdmsr
    or eax, 0x901
    wrmsr
    /* CR0: PE, MP, WP, PG; clear EM */
    mov eax, cr0
    and eax, 0xfffffffb
    or eax, 0x80010003
    mov cr0, eax

    lgdt [boot_gdt_ptr]
    .byte 0xea
    .long boot64
    .word 0x08

.code64
boot64:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    movabs rax, offset boot_stack_top
    mov rsp, rax
    xor ebp, ebp
    mov edi, esi
    movabs rax, offset kernel_entry
    call rax
3:
    hlt
    jmp 3b

.balign 8
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff
    .quad 0x00cf92000000ffff
boot_gdt_ptr:
    .word 23
    .long boot_gdt

.section .boot32.bss, "aw", @nobits
.balign 4096
boot_pml4: .skip 4096
boot_pdpt_low: .skip 4096
boot_pdpt_high: .skip 4096
boot_pd: .skip 4096 * 4

.section .bss.boot_stack, "aw", @nobits
.balign 16
.global boot_stack_bottom
boot_stack_bottom:
.skip 32768
.global boot_stack_top
boot_stack_top:
.text
"#
);

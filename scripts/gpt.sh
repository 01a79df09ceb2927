# shellcheck shell=bash
# GPT disk images (UEFI 2.10, 5.3), shared by run-bochs.sh and run-qemu.sh.
#
#   gpt_partition1_offset IMG   print the byte offset of partition 1 (the ESP of build/usb.img);
#                               for an image without a GPT header: a message and exit 2
GPT_SECTOR_SIZE=512
GPT_HEADER_LBA=1
GPT_SIGNATURE="EFI PART"
GPT_HDR_ENTRY_LBA_OFFSET=72   # PartitionEntryLBA in the header
GPT_ENTRY_START_LBA_OFFSET=32 # StartingLBA in a partition entry
GPT_EXIT_USAGE=2

gpt_partition1_offset() {
	local img=$1 sig entry_lba start_lba
	sig=$(dd if="$img" bs=1 skip=$((GPT_HEADER_LBA * GPT_SECTOR_SIZE)) count=${#GPT_SIGNATURE} status=none)
	if [ "$sig" != "$GPT_SIGNATURE" ]; then
		echo "$(basename "$0" .sh): $img has no GPT header: rebuild it with 'make $img'" >&2
		exit $GPT_EXIT_USAGE
	fi
	entry_lba=$(od -An -t u8 -j $((GPT_HEADER_LBA * GPT_SECTOR_SIZE + GPT_HDR_ENTRY_LBA_OFFSET)) -N 8 "$img" | tr -d ' ')
	start_lba=$(od -An -t u8 -j $((entry_lba * GPT_SECTOR_SIZE + GPT_ENTRY_START_LBA_OFFSET)) -N 8 "$img" | tr -d ' ')
	echo $((start_lba * GPT_SECTOR_SIZE))
}

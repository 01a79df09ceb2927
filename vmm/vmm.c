#include "vmm/log.h"
#include "vmm/status.h"
#include "vmm/vmm.h"

int vmm_run(const struct bootinfo *bi, const struct hv_config *cfg, const struct vmx_caps *caps, struct pmm *pmm)
{
	(void)bi; (void)cfg; (void)caps; (void)pmm;
	log_info("VMX capability report complete");
	return HV_OK;
}

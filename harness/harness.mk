# harness/harness.mk - the replay engine every driver stands on: the op decoder
# (ops.c), the fault writer (fault_write.c), the shadow model (shadow.c), worker
# threads (workers.c), one replay (run.c, crash.c), the verdict (judge.c) and the
# backends (backends.c). fuzz/ (drivers) and verify/ (reports) both use it; it uses
# neither. Objects: $(BUILD)/<flavor>/h/<name>.o, one set per flavor.

HARNESS_NAMES    := ops fault_write shadow workers run crash judge backends
HARNESS_SRCS     := $(addprefix harness/,$(addsuffix .c,$(HARNESS_NAMES)))
HARNESS_CPPFLAGS := -Iinclude -Iharness -D_GNU_SOURCE -MMD -MP
hobj = $(foreach n,$(2),$(BUILD)/$(1)/h/$(n).o)

define harness_flavor
$(BUILD)/$(1)/h/%.o: harness/%.c
	@mkdir -p $$(@D)
	$$(FLAVOR_CC_$(1)) $$(HARNESS_CPPFLAGS) $$(CFLAGS_COMMON) $$(FLAVOR_CFLAGS_$(1)) -c $$< -o $$@
endef
$(foreach f,$(FLAVORS) rgcc,$(eval $(call harness_flavor,$(f))))

/*
 * tests/fuzz/fuzz_aws_ec2.c — libFuzzer target for the EC2 decoders: arbitrary bytes go
 * through the bounded XML parser, and every tree that comes out is handed to every decoder
 * (only the one whose <Action>Response matches the root gets past the root check; the seeds
 * in tests/fuzz/corpus/aws_ec2 are real answers, so mutations keep exercising the tables).
 * Each decoder runs twice into the same result to cover appending, and every result is
 * walked and released, so ASan sees any bad pointer a decoder leaves behind.
 */
#include "aws/aws.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t sum(const char *s)
{
    return s ? strlen(s) : 0;
}

static size_t walk_tags(const struct aws_ec2_tags *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        n += sum(t->v[i].key) + sum(t->v[i].value);
    return n;
}

static void run_all(const struct aws_xml_node *root)
{
    struct core_err err;
    char *tok = NULL;
    volatile size_t n = 0;

    {
        struct aws_ec2_instances r = {0};
        for (int pass = 0; pass < 2; pass++) {
            if (aws_ec2_describe_instances_decode(root, &r, &tok, &err) == 0)
                core_free(tok);
            if (aws_ec2_run_instances_decode(root, &r, &err) != 0)
                n++;
        }
        for (size_t i = 0; i < r.n; i++)
            n += sum(r.v[i].instance_id) + sum(r.v[i].state_name) + walk_tags(&r.v[i].tags);
        aws_ec2_instances_cleanup(&r);
    }
    {
        struct aws_ec2_instance_types r = {0};
        for (int pass = 0; pass < 2; pass++)
            if (aws_ec2_describe_instance_types_decode(root, &r, &tok, &err) == 0)
                core_free(tok);
        for (size_t i = 0; i < r.n; i++) {
            n += sum(r.v[i].instance_type) + r.v[i].usage_classes.n + r.v[i].ngpus;
            for (size_t j = 0; j < r.v[i].ngpus; j++)
                n += sum(r.v[i].gpus[j].name);
            for (size_t j = 0; j < r.v[i].nneuron; j++)
                n += sum(r.v[i].neuron[j].name);
        }
        aws_ec2_instance_types_cleanup(&r);
    }
    {
        struct aws_ec2_offerings r = {0};
        if (aws_ec2_describe_instance_type_offerings_decode(root, &r, &tok, &err) == 0)
            core_free(tok);
        aws_ec2_offerings_cleanup(&r);
    }
    {
        struct aws_ec2_subnets r = {0};
        if (aws_ec2_describe_subnets_decode(root, &r, &tok, &err) == 0)
            core_free(tok);
        for (size_t i = 0; i < r.n; i++)
            n += walk_tags(&r.v[i].tags);
        aws_ec2_subnets_cleanup(&r);
    }
    {
        struct aws_ec2_security_groups r = {0};
        if (aws_ec2_describe_security_groups_decode(root, &r, &tok, &err) == 0)
            core_free(tok);
        aws_ec2_security_groups_cleanup(&r);
    }
    {
        struct aws_ec2_images r = {0};
        if (aws_ec2_describe_images_decode(root, &r, &tok, &err) == 0)
            core_free(tok);
        aws_ec2_images_cleanup(&r);
    }
    {
        struct aws_ec2_spot_prices r = {0};
        if (aws_ec2_describe_spot_price_history_decode(root, &r, &tok, &err) == 0)
            core_free(tok);
        aws_ec2_spot_prices_cleanup(&r);
    }
    {
        struct aws_ec2_launch_templates r = {0};
        if (aws_ec2_describe_launch_templates_decode(root, &r, &tok, &err) == 0)
            core_free(tok);
        if (aws_ec2_create_launch_template_decode(root, &r, &err) != 0)
            n++;
        if (aws_ec2_delete_launch_template_decode(root, &r, &err) != 0)
            n++;
        aws_ec2_launch_templates_cleanup(&r);
    }
    {
        struct aws_ec2_fleet r = {0};
        for (int pass = 0; pass < 2; pass++)
            if (aws_ec2_create_fleet_decode(root, &r, &err) != 0)
                n++;
        for (size_t i = 0; i < r.ninstances; i++)
            n += r.instances[i].instance_ids.n + sum(r.instances[i].overrides.subnet_id);
        for (size_t i = 0; i < r.nerrors; i++)
            n += (size_t)aws_ec2_fleet_error_is_capacity(&r.errors[i]) + sum(r.errors[i].code);
        aws_ec2_fleet_cleanup(&r);
    }
    {
        struct aws_ec2_state_changes r = {0};
        if (aws_ec2_start_instances_decode(root, &r, &err) != 0)
            n++;
        if (aws_ec2_stop_instances_decode(root, &r, &err) != 0)
            n++;
        if (aws_ec2_terminate_instances_decode(root, &r, &err) != 0)
            n++;
        aws_ec2_state_changes_cleanup(&r);
    }
    if (aws_ec2_modify_instance_attribute_decode(root, &err) != 0)
        n++;
    if (aws_ec2_create_tags_decode(root, &err) != 0)
        n++;
    (void)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aws_xml_limits lim = {32, 20000, 4096, 1 << 20};
    struct aws_xml_parser *p = aws_xml_parser_new(&lim);
    const struct aws_xml_node *root = NULL;
    struct core_err err;

    if (!p)
        return 0;
    if (aws_xml_parser_feed(p, (const char *)data, size, &err) == 0 &&
        aws_xml_parser_finish(p, &root, &err) == 0)
        run_all(root);
    aws_xml_parser_free(p);
    return 0;
}

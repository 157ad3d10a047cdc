/*
 * tests/unit/test_aws_ec2.c — suite "aws_ec2": the typed EC2 layer.
 *
 * What is proven here:
 *  - every encoder produces exactly the expected form body (parameter names, order, escaping,
 *    base64 of user data), and refuses bad requests with an error naming the action and the
 *    field, leaving the caller's form untouched;
 *  - every decoder reads the fixtures in tests/data/ec2 (written to the EC2 API reference's
 *    shapes), appends page after page, ignores unknown elements, and turns a missing required
 *    element, a malformed number, a proxy's HTML page or the wrong document into CORE_E_PARSE
 *    naming the action and the element path, leaving the caller's result untouched;
 *  - decoding survives an allocation failure at every point (clean CORE_E_NOMEM or success,
 *    no leak under LSan);
 *  - end to end over the scripted transport and the real client: pages are followed with
 *    NextToken and merged, max_pages bounds them, the request is copied at the call, service
 *    errors and retry_not_found pass through.
 */
#include "tests/unit/harness.h"

#include "aws/aws.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S CORE_NS_PER_S
#define WALL_2026_03_02_10 (INT64_C(1772445600) * S) /* 2026-03-02T10:00:00Z */

/* ============================================================================================ */
/* Helpers                                                                                       */
/* ============================================================================================ */

/* Checks a successful encode and compares the whole body; frees the form. */
static void expect_form(int rc, struct aws_query *q, const struct core_err *err, const char *want)
{
    struct core_buf b;
    core_buf_init(&b, 1u << 20);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "\n  encode failed: %s\n", err->message);
    CU_ASSERT_EQUAL(aws_query_encode(q, &b), 0);
    if (strcmp(core_buf_cstr(&b), want) != 0)
        fprintf(stderr, "\n  got:  %s\n  want: %s\n", core_buf_cstr(&b), want);
    CU_ASSERT_STRING_EQUAL(core_buf_cstr(&b), want);
    core_buf_cleanup(&b);
    aws_query_cleanup(q);
}

/* Checks a refused encode: the code, the action and field in the message, and that q (which
 * held one pair before) was not touched. */
static void expect_refused(int rc, struct aws_query *q, const struct core_err *err, int code,
                           const char *action, const char *field)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s: ", action);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_EQUAL(err->code, code);
    CU_ASSERT_EQUAL(strncmp(err->message, prefix, strlen(prefix)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err->message, field));
    if (rc != code || strncmp(err->message, prefix, strlen(prefix)) != 0 ||
        !strstr(err->message, field))
        fprintf(stderr, "\n  rc %d, message '%s' (want %s ... %s)\n", rc, err->message, action,
                field);
    CU_ASSERT_EQUAL(q->n, 1);
    CU_ASSERT_STRING_EQUAL(q->names[0], "Keep");
}

static void q_with_keep(struct aws_query *q)
{
    aws_query_init(q);
    CU_ASSERT_EQUAL_FATAL(aws_query_add(q, "Keep", "me"), 0);
}

/* Parses a whole document; NULL (with the parser freed) on error. */
static const struct aws_xml_node *parse_text(struct aws_xml_parser **pp, const char *text,
                                             size_t len, struct core_err *err)
{
    const struct aws_xml_node *root = NULL;
    *pp = aws_xml_parser_new(NULL);
    if (!*pp) {
        core_err_set(err, CORE_E_NOMEM, "XML: out of memory");
        return NULL;
    }
    if (aws_xml_parser_feed(*pp, text, len, err) != 0 ||
        aws_xml_parser_finish(*pp, &root, err) != 0) {
        aws_xml_parser_free(*pp);
        *pp = NULL;
        return NULL;
    }
    return root;
}

static char *read_fixture(const char *name, size_t *len)
{
    char rel[256];
    char *text;
    snprintf(rel, sizeof rel, "ec2/%s", name);
    text = tests_read_file(tests_data_path(rel), len);
    if (!text)
        fprintf(stderr, "\n  cannot read fixture %s\n", tests_data_path(rel));
    return text;
}

/* Parses a fixture; the parser (which owns the tree) goes to *pp. */
static const struct aws_xml_node *load(struct aws_xml_parser **pp, const char *name)
{
    struct core_err err;
    size_t len = 0;
    char *text = read_fixture(name, &len);
    const struct aws_xml_node *root = NULL;
    *pp = NULL;
    if (text)
        root = parse_text(pp, text, len, &err);
    core_free(text);
    return root;
}

static int has_tag(const struct aws_ec2_tags *t, const char *key, const char *value)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].key, key) == 0)
            return strcmp(t->v[i].value, value) == 0;
    return 0;
}

/* ============================================================================================ */
/* Encoding: exact bodies                                                                        */
/* ============================================================================================ */

static void test_encode_describe_instances(void)
{
    const char *ids[] = {"i-1", "i-2"};
    const char *states[] = {"pending", "running"};
    const char *pool[] = {"default"};
    struct aws_ec2_filter filters[] = {{"instance-state-name", states, 2},
                                       {"tag:stoker.dev/nodepool", pool, 1}};
    struct aws_ec2_describe_instances_req req = {.instance_ids = ids,
                                                 .ninstance_ids = 2,
                                                 .filters = filters,
                                                 .nfilters = 2};
    struct aws_query q;
    struct core_err err;
    int rc;

    aws_query_init(&q);
    rc = aws_ec2_describe_instances_encode(&req, "tok/+=", &q, &err);
    expect_form(rc, &q, &err,
                "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1&InstanceId.2=i-2"
                "&Filter.1.Name=instance-state-name&Filter.1.Value.1=pending"
                "&Filter.1.Value.2=running&Filter.2.Name=tag%3Astoker.dev%2Fnodepool"
                "&Filter.2.Value.1=default&NextToken=tok%2F%2B%3D");

    /* Without ids MaxResults may be given; the range is 5..1000 inclusive. */
    req.instance_ids = NULL;
    req.ninstance_ids = 0;
    req.nfilters = 1;
    req.max_results = 1000;
    rc = aws_ec2_describe_instances_encode(&req, NULL, &q, &err);
    expect_form(rc, &q, &err,
                "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=instance-state-name"
                "&Filter.1.Value.1=pending&Filter.1.Value.2=running&MaxResults=1000");
    req.max_results = 5;
    rc = aws_ec2_describe_instances_encode(&req, "", &q, &err); /* "" token: not sent */
    expect_form(rc, &q, &err,
                "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=instance-state-name"
                "&Filter.1.Value.1=pending&Filter.1.Value.2=running&MaxResults=5");

    /* Encoding appends to a form that already has pairs. */
    q_with_keep(&q);
    memset(&req, 0, sizeof req);
    rc = aws_ec2_describe_instances_encode(&req, NULL, &q, &err);
    expect_form(rc, &q, &err, "Keep=me&Action=DescribeInstances&Version=2016-11-15");
}

static void test_encode_describe_others(void)
{
    struct aws_query q;
    struct core_err err;
    int rc;

    {
        const char *types[] = {"m7g.large", "g5.xlarge"};
        const char *arch[] = {"arm64"};
        struct aws_ec2_filter f = {"processor-info.supported-architecture", arch, 1};
        struct aws_ec2_describe_instance_types_req r = {types, 2, &f, 1, 100, 0};
        aws_query_init(&q);
        rc = aws_ec2_describe_instance_types_encode(&r, "abc", &q, &err);
        expect_form(rc, &q, &err,
                    "Action=DescribeInstanceTypes&Version=2016-11-15&InstanceType.1=m7g.large"
                    "&InstanceType.2=g5.xlarge"
                    "&Filter.1.Name=processor-info.supported-architecture"
                    "&Filter.1.Value.1=arm64&MaxResults=100&NextToken=abc");
    }
    {
        const char *v[] = {"m7g.*"};
        struct aws_ec2_filter f = {"instance-type", v, 1};
        struct aws_ec2_describe_instance_type_offerings_req r = {"availability-zone", &f, 1,
                                                                 1000, 0};
        aws_query_init(&q);
        rc = aws_ec2_describe_instance_type_offerings_encode(&r, NULL, &q, &err);
        expect_form(rc, &q, &err,
                    "Action=DescribeInstanceTypeOfferings&Version=2016-11-15"
                    "&LocationType=availability-zone&Filter.1.Name=instance-type"
                    "&Filter.1.Value.1=m7g.%2A&MaxResults=1000");
    }
    {
        const char *ids[] = {"subnet-a", "subnet-b"};
        const char *v[] = {"prod"};
        struct aws_ec2_filter f = {"tag:karpenter.sh/discovery", v, 1};
        struct aws_ec2_describe_subnets_req r = {ids, 2, &f, 1, 5, 0};
        aws_query_init(&q);
        rc = aws_ec2_describe_subnets_encode(&r, NULL, &q, &err);
        expect_form(rc, &q, &err,
                    "Action=DescribeSubnets&Version=2016-11-15&SubnetId.1=subnet-a"
                    "&SubnetId.2=subnet-b&Filter.1.Name=tag%3Akarpenter.sh%2Fdiscovery"
                    "&Filter.1.Value.1=prod&MaxResults=5");
    }
    {
        const char *ids[] = {"sg-1"};
        const char *names[] = {"default"};
        const char *v[] = {"vpc-1"};
        struct aws_ec2_filter f = {"vpc-id", v, 1};
        struct aws_ec2_describe_security_groups_req r = {ids, 1, names, 1, &f, 1, 0, 0};
        aws_query_init(&q);
        rc = aws_ec2_describe_security_groups_encode(&r, NULL, &q, &err);
        expect_form(rc, &q, &err,
                    "Action=DescribeSecurityGroups&Version=2016-11-15&GroupId.1=sg-1"
                    "&GroupName.1=default&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1");
    }
    {
        const char *ids[] = {"ami-1"};
        const char *owners[] = {"amazon", "self"};
        const char *exec[] = {"self"};
        const char *v[] = {"amazon-eks-node-al2023-*-1.31-v*"};
        struct aws_ec2_filter f = {"name", v, 1};
        struct aws_ec2_describe_images_req r = {ids, 1, owners, 2, exec, 1, &f, 1,
                                                AWS_EC2_FALSE, 200, 0};
        aws_query_init(&q);
        rc = aws_ec2_describe_images_encode(&r, "n1", &q, &err);
        expect_form(rc, &q, &err,
                    "Action=DescribeImages&Version=2016-11-15&ImageId.1=ami-1&Owner.1=amazon"
                    "&Owner.2=self&ExecutableBy.1=self&Filter.1.Name=name"
                    "&Filter.1.Value.1=amazon-eks-node-al2023-%2A-1.31-v%2A"
                    "&IncludeDeprecated=false&MaxResults=200&NextToken=n1");
    }
    {
        const char *types[] = {"m7g.large"};
        const char *prod[] = {"Linux/UNIX"};
        struct aws_ec2_describe_spot_price_history_req r = {
            types, 1, prod, 1, "us-east-1a", WALL_2026_03_02_10, WALL_2026_03_02_10 + 3600 * S,
            NULL, 0, 1000, 0};
        aws_query_init(&q);
        rc = aws_ec2_describe_spot_price_history_encode(&r, NULL, &q, &err);
        expect_form(rc, &q, &err,
                    "Action=DescribeSpotPriceHistory&Version=2016-11-15"
                    "&InstanceType.1=m7g.large&ProductDescription.1=Linux%2FUNIX"
                    "&AvailabilityZone=us-east-1a&StartTime=2026-03-02T10%3A00%3A00Z"
                    "&EndTime=2026-03-02T11%3A00%3A00Z&MaxResults=1000");
    }
    {
        const char *ids[] = {"lt-1"};
        const char *names[] = {"stoker/prod/default-7f3e"};
        const char *v[] = {"prod"};
        struct aws_ec2_filter f = {"tag:stoker.dev/cluster", v, 1};
        struct aws_ec2_describe_launch_templates_req r = {ids, 1, names, 1, &f, 1, 200, 0};
        aws_query_init(&q);
        rc = aws_ec2_describe_launch_templates_encode(&r, NULL, &q, &err);
        expect_form(rc, &q, &err,
                    "Action=DescribeLaunchTemplates&Version=2016-11-15&LaunchTemplateId.1=lt-1"
                    "&LaunchTemplateName.1=stoker%2Fprod%2Fdefault-7f3e"
                    "&Filter.1.Name=tag%3Astoker.dev%2Fcluster&Filter.1.Value.1=prod"
                    "&MaxResults=200");
    }
}

static void test_encode_launch_templates(void)
{
    const char *sgs[] = {"sg-1", "sg-2"};
    struct aws_ec2_tag itags[] = {{"Name", "n1"}, {"stoker.dev/nodepool", "gpu"}};
    struct aws_ec2_tag vtags[] = {{"Name", "n1"}};
    struct aws_ec2_tag lttags[] = {{"stoker.dev/cluster", "prod"}};
    struct aws_ec2_tag_spec dspecs[] = {{"instance", itags, 2}, {"volume", vtags, 1}};
    struct aws_ec2_tag_spec ltspecs[] = {{"launch-template", lttags, 1}};
    struct aws_ec2_block_device bd = {"/dev/xvda", 80, "gp3", AWS_EC2_TRUE, AWS_EC2_TRUE,
                                      3000, 125};
    struct aws_ec2_create_launch_template_req req = {
        .name = "stoker/prod/gpu-1a2b",
        .client_token = "lt-token-1",
        .version_description = "nodeclass gpu",
        .data = {.image_id = "ami-1",
                 .user_data = "hello\n",
                 .user_data_len = 6,
                 .security_group_ids = sgs,
                 .nsecurity_group_ids = 2,
                 .iam_instance_profile_name = "stoker-node",
                 .block_devices = &bd,
                 .nblock_devices = 1,
                 .metadata = {"required", 2},
                 .tag_specs = dspecs,
                 .ntag_specs = 2},
        .tag_specs = ltspecs,
        .ntag_specs = 1};
    struct aws_ec2_delete_launch_template_req del = {"lt-1", NULL};
    struct aws_query q;
    struct core_err err;
    int rc;

    aws_query_init(&q);
    rc = aws_ec2_create_launch_template_encode(&req, &q, &err);
    expect_form(
        rc, &q, &err,
        "Action=CreateLaunchTemplate&Version=2016-11-15&LaunchTemplateName=stoker%2Fprod%2Fgpu-1a2b"
        "&VersionDescription=nodeclass%20gpu&ClientToken=lt-token-1"
        "&LaunchTemplateData.ImageId=ami-1&LaunchTemplateData.UserData=aGVsbG8K"
        "&LaunchTemplateData.SecurityGroupId.1=sg-1&LaunchTemplateData.SecurityGroupId.2=sg-2"
        "&LaunchTemplateData.IamInstanceProfile.Name=stoker-node"
        "&LaunchTemplateData.BlockDeviceMapping.1.DeviceName=%2Fdev%2Fxvda"
        "&LaunchTemplateData.BlockDeviceMapping.1.Ebs.VolumeSize=80"
        "&LaunchTemplateData.BlockDeviceMapping.1.Ebs.VolumeType=gp3"
        "&LaunchTemplateData.BlockDeviceMapping.1.Ebs.Encrypted=true"
        "&LaunchTemplateData.BlockDeviceMapping.1.Ebs.DeleteOnTermination=true"
        "&LaunchTemplateData.BlockDeviceMapping.1.Ebs.Iops=3000"
        "&LaunchTemplateData.BlockDeviceMapping.1.Ebs.Throughput=125"
        "&LaunchTemplateData.MetadataOptions.HttpTokens=required"
        "&LaunchTemplateData.MetadataOptions.HttpPutResponseHopLimit=2"
        "&LaunchTemplateData.TagSpecification.1.ResourceType=instance"
        "&LaunchTemplateData.TagSpecification.1.Tag.1.Key=Name"
        "&LaunchTemplateData.TagSpecification.1.Tag.1.Value=n1"
        "&LaunchTemplateData.TagSpecification.1.Tag.2.Key=stoker.dev%2Fnodepool"
        "&LaunchTemplateData.TagSpecification.1.Tag.2.Value=gpu"
        "&LaunchTemplateData.TagSpecification.2.ResourceType=volume"
        "&LaunchTemplateData.TagSpecification.2.Tag.1.Key=Name"
        "&LaunchTemplateData.TagSpecification.2.Tag.1.Value=n1"
        "&TagSpecification.1.ResourceType=launch-template"
        "&TagSpecification.1.Tag.1.Key=stoker.dev%2Fcluster&TagSpecification.1.Tag.1.Value=prod");

    /* The optional parts: instance type, key name, profile ARN, hibernation. */
    memset(&req, 0, sizeof req);
    req.name = "lt.(x)_y-z";
    req.data.instance_type = "m7g.large";
    req.data.key_name = "ops";
    req.data.iam_instance_profile_arn = "arn:aws:iam::1:instance-profile/p";
    req.data.hibernation_configured = AWS_EC2_FALSE;
    rc = aws_ec2_create_launch_template_encode(&req, &q, &err);
    expect_form(rc, &q, &err,
                "Action=CreateLaunchTemplate&Version=2016-11-15&LaunchTemplateName=lt.%28x%29_y-z"
                "&LaunchTemplateData.InstanceType=m7g.large&LaunchTemplateData.KeyName=ops"
                "&LaunchTemplateData.IamInstanceProfile.Arn=arn%3Aaws%3Aiam%3A%3A1%3A"
                "instance-profile%2Fp"
                "&LaunchTemplateData.HibernationOptions.Configured=false");

    rc = aws_ec2_delete_launch_template_encode(&del, &q, &err);
    expect_form(rc, &q, &err, "Action=DeleteLaunchTemplate&Version=2016-11-15&LaunchTemplateId=lt-1");
    del.id = NULL;
    del.name = "stoker/prod/default-7f3e";
    rc = aws_ec2_delete_launch_template_encode(&del, &q, &err);
    expect_form(rc, &q, &err,
                "Action=DeleteLaunchTemplate&Version=2016-11-15"
                "&LaunchTemplateName=stoker%2Fprod%2Fdefault-7f3e");
}

static void test_encode_create_fleet(void)
{
    struct aws_ec2_fleet_override ov[] = {
        {"m7g.large", "subnet-a", "us-east-1a", NULL, NULL, 1, 0.0},
        {"c7g.large", "subnet-b", NULL, "ami-2", "0.05", 1, 1.5},
    };
    struct aws_ec2_fleet_template_config cfg[] = {{"lt-1", NULL, "$Latest", ov, 2},
                                                  {NULL, "named", NULL, NULL, 0}};
    struct aws_ec2_tag tags[] = {{"stoker.dev/nodeclaim", "nc-1"}};
    struct aws_ec2_tag_spec spec = {"instance", tags, 1};
    struct aws_ec2_create_fleet_req req = {.configs = cfg,
                                           .nconfigs = 1,
                                           .total_target_capacity = 3,
                                           .default_target_capacity_type = "spot",
                                           .spot_allocation_strategy = "price-capacity-optimized",
                                           .tag_specs = &spec,
                                           .ntag_specs = 1,
                                           .client_token = "nc-1-attempt-1"};
    struct aws_query q;
    struct core_err err;
    int rc;

    aws_query_init(&q);
    rc = aws_ec2_create_fleet_encode(&req, &q, &err);
    expect_form(rc, &q, &err,
                "Action=CreateFleet&Version=2016-11-15&Type=instant"
                "&LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateId=lt-1"
                "&LaunchTemplateConfigs.1.LaunchTemplateSpecification.Version=%24Latest"
                "&LaunchTemplateConfigs.1.Overrides.1.InstanceType=m7g.large"
                "&LaunchTemplateConfigs.1.Overrides.1.SubnetId=subnet-a"
                "&LaunchTemplateConfigs.1.Overrides.1.AvailabilityZone=us-east-1a"
                "&LaunchTemplateConfigs.1.Overrides.1.Priority=0"
                "&LaunchTemplateConfigs.1.Overrides.2.InstanceType=c7g.large"
                "&LaunchTemplateConfigs.1.Overrides.2.SubnetId=subnet-b"
                "&LaunchTemplateConfigs.1.Overrides.2.ImageId=ami-2"
                "&LaunchTemplateConfigs.1.Overrides.2.MaxPrice=0.05"
                "&LaunchTemplateConfigs.1.Overrides.2.Priority=1.5"
                "&TargetCapacitySpecification.TotalTargetCapacity=3"
                "&TargetCapacitySpecification.DefaultTargetCapacityType=spot"
                "&SpotOptions.AllocationStrategy=price-capacity-optimized"
                "&TagSpecification.1.ResourceType=instance"
                "&TagSpecification.1.Tag.1.Key=stoker.dev%2Fnodeclaim"
                "&TagSpecification.1.Tag.1.Value=nc-1&ClientToken=nc-1-attempt-1");

    /* Two configs, on-demand prioritized, a template by name, no priority. */
    ov[0].has_priority = 0;
    cfg[0].noverrides = 1;
    req.nconfigs = 2;
    req.default_target_capacity_type = "on-demand";
    req.on_demand_allocation_strategy = "prioritized";
    req.spot_allocation_strategy = NULL;
    req.ntag_specs = 0;
    req.client_token = NULL;
    req.total_target_capacity = 1;
    rc = aws_ec2_create_fleet_encode(&req, &q, &err);
    expect_form(rc, &q, &err,
                "Action=CreateFleet&Version=2016-11-15&Type=instant"
                "&LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateId=lt-1"
                "&LaunchTemplateConfigs.1.LaunchTemplateSpecification.Version=%24Latest"
                "&LaunchTemplateConfigs.1.Overrides.1.InstanceType=m7g.large"
                "&LaunchTemplateConfigs.1.Overrides.1.SubnetId=subnet-a"
                "&LaunchTemplateConfigs.1.Overrides.1.AvailabilityZone=us-east-1a"
                "&LaunchTemplateConfigs.2.LaunchTemplateSpecification.LaunchTemplateName=named"
                "&TargetCapacitySpecification.TotalTargetCapacity=1"
                "&TargetCapacitySpecification.DefaultTargetCapacityType=on-demand"
                "&OnDemandOptions.AllocationStrategy=prioritized");
}

static const unsigned char script_ud[] = "#!/bin/bash\n\xfb\xff\xbe?>"; /* base64 has + / = */

static void test_encode_run_instances(void)
{
    const char *sgs[] = {"sg-1"};
    struct aws_ec2_block_device bd = {"/dev/xvda", 40, "gp3", AWS_EC2_TRUE, AWS_EC2_TRUE, 0, 0};
    struct aws_ec2_tag tags[] = {{"stoker.dev/warm-pool", "general"}};
    struct aws_ec2_tag_spec spec = {"instance", tags, 1};
    struct aws_ec2_run_instances_req req = {
        .image_id = "ami-1",
        .instance_type = "m7g.large",
        .min_count = 1,
        .max_count = 1,
        .subnet_id = "subnet-a",
        .security_group_ids = sgs,
        .nsecurity_group_ids = 1,
        .user_data = script_ud,
        .user_data_len = sizeof script_ud - 1,
        .iam_instance_profile_arn = "arn:aws:iam::123456789012:instance-profile/stoker-node",
        .hibernation_configured = AWS_EC2_TRUE,
        .block_devices = &bd,
        .nblock_devices = 1,
        .metadata = {"required", 1},
        .tag_specs = &spec,
        .ntag_specs = 1,
        .client_token = "warm-general-0001"};
    struct aws_query q;
    struct core_err err;
    int rc;

    aws_query_init(&q);
    rc = aws_ec2_run_instances_encode(&req, &q, &err);
    expect_form(rc, &q, &err,
                "Action=RunInstances&Version=2016-11-15&ImageId=ami-1&InstanceType=m7g.large"
                "&MinCount=1&MaxCount=1&SubnetId=subnet-a&SecurityGroupId.1=sg-1"
                "&UserData=IyEvYmluL2Jhc2gK%2B%2F%2B%2BPz4%3D"
                "&IamInstanceProfile.Arn=arn%3Aaws%3Aiam%3A%3A123456789012%3A"
                "instance-profile%2Fstoker-node"
                "&HibernationOptions.Configured=true"
                "&BlockDeviceMapping.1.DeviceName=%2Fdev%2Fxvda"
                "&BlockDeviceMapping.1.Ebs.VolumeSize=40&BlockDeviceMapping.1.Ebs.VolumeType=gp3"
                "&BlockDeviceMapping.1.Ebs.Encrypted=true"
                "&BlockDeviceMapping.1.Ebs.DeleteOnTermination=true"
                "&MetadataOptions.HttpTokens=required&MetadataOptions.HttpPutResponseHopLimit=1"
                "&TagSpecification.1.ResourceType=instance"
                "&TagSpecification.1.Tag.1.Key=stoker.dev%2Fwarm-pool"
                "&TagSpecification.1.Tag.1.Value=general&ClientToken=warm-general-0001");

    /* From a launch template: no ImageId needed. */
    memset(&req, 0, sizeof req);
    req.min_count = 2;
    req.max_count = 5;
    req.launch_template_id = "lt-1";
    req.launch_template_version = "3";
    rc = aws_ec2_run_instances_encode(&req, &q, &err);
    expect_form(rc, &q, &err,
                "Action=RunInstances&Version=2016-11-15&MinCount=2&MaxCount=5"
                "&LaunchTemplate.LaunchTemplateId=lt-1&LaunchTemplate.Version=3");
}

static void test_encode_instance_actions(void)
{
    const char *ids[] = {"i-1", "i-2"};
    const char *res[] = {"i-1", "vol-1"};
    struct aws_ec2_tag tags[] = {{"stoker.dev/claimed", "true"}, {"Name", NULL}};
    struct aws_ec2_start_instances_req start = {ids, 2};
    struct aws_ec2_stop_instances_req stop = {ids, 1, 1, 0};
    struct aws_ec2_terminate_instances_req term = {ids, 1};
    struct aws_ec2_modify_instance_attribute_req mod = {"i-1", "\xfb\xff", 2};
    struct aws_ec2_create_tags_req ct = {res, 2, tags, 2};
    struct aws_query q;
    struct core_err err;
    int rc;

    aws_query_init(&q);
    rc = aws_ec2_start_instances_encode(&start, &q, &err);
    expect_form(rc, &q, &err,
                "Action=StartInstances&Version=2016-11-15&InstanceId.1=i-1&InstanceId.2=i-2");
    rc = aws_ec2_stop_instances_encode(&stop, &q, &err);
    expect_form(rc, &q, &err,
                "Action=StopInstances&Version=2016-11-15&InstanceId.1=i-1&Hibernate=true");
    stop.hibernate = 0;
    stop.force = 1;
    rc = aws_ec2_stop_instances_encode(&stop, &q, &err);
    expect_form(rc, &q, &err, "Action=StopInstances&Version=2016-11-15&InstanceId.1=i-1&Force=true");
    rc = aws_ec2_terminate_instances_encode(&term, &q, &err);
    expect_form(rc, &q, &err, "Action=TerminateInstances&Version=2016-11-15&InstanceId.1=i-1");
    rc = aws_ec2_modify_instance_attribute_encode(&mod, &q, &err);
    expect_form(rc, &q, &err,
                "Action=ModifyInstanceAttribute&Version=2016-11-15&InstanceId=i-1"
                "&UserData.Value=%2B%2F8%3D");
    rc = aws_ec2_create_tags_encode(&ct, &q, &err);
    expect_form(rc, &q, &err,
                "Action=CreateTags&Version=2016-11-15&ResourceId.1=i-1&ResourceId.2=vol-1"
                "&Tag.1.Key=stoker.dev%2Fclaimed&Tag.1.Value=true&Tag.2.Key=Name&Tag.2.Value=");
}

/* The limits themselves are accepted: 16384 bytes of user data, a 64-character token, 60
 * overrides, MaxResults at both ends. */
static void test_encode_limits_accepted(void)
{
    static char big[AWS_EC2_USER_DATA_MAX];
    char token[AWS_EC2_CLIENT_TOKEN_MAX + 1];
    struct aws_ec2_fleet_override ov[AWS_EC2_FLEET_OVERRIDES_MAX];
    struct aws_ec2_fleet_template_config cfg[2] = {{"lt-1", NULL, NULL, ov, 30},
                                                   {"lt-2", NULL, NULL, ov + 30, 30}};
    struct aws_ec2_create_fleet_req fleet = {cfg, 2, 1, "on-demand", NULL, NULL, NULL, 0, token};
    struct aws_ec2_run_instances_req run = {.image_id = "ami-1", .min_count = 1, .max_count = 1,
                                            .user_data = big, .user_data_len = sizeof big,
                                            .client_token = token};
    struct aws_ec2_describe_instance_types_req it = {.max_results = 5};
    struct aws_query q;
    struct core_err err;

    memset(big, 'x', sizeof big);
    memset(token, 'T', AWS_EC2_CLIENT_TOKEN_MAX);
    token[AWS_EC2_CLIENT_TOKEN_MAX] = '\0';
    for (size_t i = 0; i < AWS_EC2_FLEET_OVERRIDES_MAX; i++)
        ov[i] = (struct aws_ec2_fleet_override){"m7g.large", "subnet-a", NULL, NULL, NULL, 0, 0};
    aws_query_init(&q);
    CU_ASSERT_EQUAL(aws_ec2_run_instances_encode(&run, &q, &err), 0);
    CU_ASSERT_EQUAL(strlen(aws_query_get(&q, "UserData")), 4 * ((sizeof big + 2) / 3));
    aws_query_cleanup(&q);
    CU_ASSERT_EQUAL(aws_ec2_create_fleet_encode(&fleet, &q, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(aws_query_get(&q, "LaunchTemplateConfigs.2.Overrides.30.SubnetId"));
    aws_query_cleanup(&q);
    CU_ASSERT_EQUAL(aws_ec2_describe_instance_types_encode(&it, NULL, &q, &err), 0);
    aws_query_cleanup(&q);
    it.max_results = 100;
    CU_ASSERT_EQUAL(aws_ec2_describe_instance_types_encode(&it, NULL, &q, &err), 0);
    aws_query_cleanup(&q);
}

/* ============================================================================================ */
/* Encoding: validation                                                                          */
/* ============================================================================================ */

static void test_encode_validation(void)
{
    static char big[AWS_EC2_USER_DATA_MAX + 1];
    char longtok[AWS_EC2_CLIENT_TOKEN_MAX + 2];
    char longval[258];
    const char *ids[] = {"i-1", ""};
    const char *nullids[] = {NULL};
    const char *vals[] = {"x"};
    struct aws_ec2_filter nov = {"name", vals, 0};
    struct aws_ec2_filter noname[] = {{"a", vals, 1}, {NULL, vals, 1}};
    struct aws_ec2_tag okt = {"k", "v"};
    struct aws_ec2_tag awst = {"aws:cloudformation", "v"};
    struct aws_ec2_tag_spec fleetspec = {"fleet", &okt, 1};
    struct aws_ec2_tag_spec instspec = {"instance", &okt, 1};
    struct aws_ec2_tag_spec emptyspec = {"instance", NULL, 0};
    struct aws_ec2_block_device nodev = {NULL, 8, NULL, 0, 0, 0, 0};
    struct aws_ec2_block_device badtype = {"/dev/xvda", 8, "gp9", 0, 0, 0, 0};
    struct aws_ec2_fleet_override ov[AWS_EC2_FLEET_OVERRIDES_MAX + 1];
    struct aws_ec2_fleet_override badprice = {"m7g.large", NULL, NULL, NULL, "abc", 0, 0};
    struct aws_ec2_fleet_override badprio = {"m7g.large", NULL, NULL, NULL, NULL, 1, -1};
    struct aws_ec2_fleet_template_config many[2] = {{"lt-1", NULL, NULL, ov, 30},
                                                    {"lt-2", NULL, NULL, ov + 30, 31}};
    struct aws_ec2_fleet_template_config one = {"lt-1", NULL, NULL, ov, 1};
    struct aws_ec2_fleet_template_config noid = {NULL, NULL, NULL, ov, 1};
    struct aws_ec2_fleet_template_config price = {"lt-1", NULL, NULL, &badprice, 1};
    struct aws_ec2_fleet_template_config prio = {"lt-1", NULL, NULL, &badprio, 1};
    struct aws_query q;
    struct core_err err;

    memset(longtok, 'T', sizeof longtok - 1);
    longtok[sizeof longtok - 1] = '\0';
    memset(longval, 'v', sizeof longval - 1);
    longval[sizeof longval - 1] = '\0';
    for (size_t i = 0; i <= AWS_EC2_FLEET_OVERRIDES_MAX; i++)
        ov[i] = (struct aws_ec2_fleet_override){"m7g.large", NULL, NULL, NULL, NULL, 0, 0};

#define REFUSED(call, code, action, field)                                                     \
    do {                                                                                       \
        q_with_keep(&q);                                                                       \
        core_err_clear(&err);                                                                  \
        expect_refused((call), &q, &err, code, action, field);                                 \
        aws_query_cleanup(&q);                                                                 \
    } while (0)

    /* No request at all. */
    REFUSED(aws_ec2_describe_instances_encode(NULL, NULL, &q, &err), CORE_E_INVAL,
            "DescribeInstances", "no request");
    REFUSED(aws_ec2_create_fleet_encode(NULL, &q, &err), CORE_E_INVAL, "CreateFleet",
            "no request");
    REFUSED(aws_ec2_create_tags_encode(NULL, &q, &err), CORE_E_INVAL, "CreateTags", "no request");

    /* Describe*. */
    {
        struct aws_ec2_describe_instances_req r = {.instance_ids = ids, .ninstance_ids = 1,
                                                   .max_results = 10};
        REFUSED(aws_ec2_describe_instances_encode(&r, NULL, &q, &err), CORE_E_INVAL,
                "DescribeInstances", "MaxResults");
        r.ninstance_ids = 0;
        r.max_results = 4;
        REFUSED(aws_ec2_describe_instances_encode(&r, NULL, &q, &err), CORE_E_INVAL,
                "DescribeInstances", "MaxResults must be 5..1000");
        r.max_results = 1001;
        REFUSED(aws_ec2_describe_instances_encode(&r, NULL, &q, &err), CORE_E_INVAL,
                "DescribeInstances", "MaxResults");
        r.max_results = 0;
        r.ninstance_ids = 2;
        REFUSED(aws_ec2_describe_instances_encode(&r, NULL, &q, &err), CORE_E_INVAL,
                "DescribeInstances", "InstanceId.2");
        r.ninstance_ids = 0;
        r.filters = &nov;
        r.nfilters = 1;
        REFUSED(aws_ec2_describe_instances_encode(&r, NULL, &q, &err), CORE_E_INVAL,
                "DescribeInstances", "Filter.1");
        r.filters = noname;
        r.nfilters = 2;
        REFUSED(aws_ec2_describe_instances_encode(&r, NULL, &q, &err), CORE_E_INVAL,
                "DescribeInstances", "Filter.2.Name");
    }
    {
        struct aws_ec2_describe_instance_types_req r = {.max_results = 101};
        REFUSED(aws_ec2_describe_instance_types_encode(&r, NULL, &q, &err), CORE_E_INVAL,
                "DescribeInstanceTypes", "MaxResults must be 5..100");
    }
    {
        struct aws_ec2_describe_instance_type_offerings_req r = {.location_type = "zone"};
        REFUSED(aws_ec2_describe_instance_type_offerings_encode(&r, NULL, &q, &err),
                CORE_E_INVAL, "DescribeInstanceTypeOfferings", "LocationType");
    }
    {
        struct aws_ec2_describe_spot_price_history_req r = {.start_time = 2 * S, .end_time = S};
        REFUSED(aws_ec2_describe_spot_price_history_encode(&r, NULL, &q, &err), CORE_E_INVAL,
                "DescribeSpotPriceHistory", "StartTime");
    }
    {
        struct aws_ec2_describe_launch_templates_req r = {.max_results = 201};
        REFUSED(aws_ec2_describe_launch_templates_encode(&r, NULL, &q, &err), CORE_E_INVAL,
                "DescribeLaunchTemplates", "MaxResults");
    }

    /* CreateLaunchTemplate / DeleteLaunchTemplate. */
    {
        struct aws_ec2_create_launch_template_req r = {.name = "ab", .data.image_id = "ami-1"};
        REFUSED(aws_ec2_create_launch_template_encode(&r, &q, &err), CORE_E_INVAL,
                "CreateLaunchTemplate", "LaunchTemplateName");
        r.name = "has space";
        REFUSED(aws_ec2_create_launch_template_encode(&r, &q, &err), CORE_E_INVAL,
                "CreateLaunchTemplate", "LaunchTemplateName");
        r.name = "good-name";
        r.data.image_id = NULL;
        REFUSED(aws_ec2_create_launch_template_encode(&r, &q, &err), CORE_E_INVAL,
                "CreateLaunchTemplate", "LaunchTemplateData is required");
        r.data.user_data = big;
        r.data.user_data_len = sizeof big;
        REFUSED(aws_ec2_create_launch_template_encode(&r, &q, &err), CORE_E_TOOBIG,
                "CreateLaunchTemplate", "LaunchTemplateData.UserData");
        r.data.user_data = NULL;
        r.data.user_data_len = 0;
        r.data.iam_instance_profile_name = "p";
        r.data.iam_instance_profile_arn = "arn:p";
        REFUSED(aws_ec2_create_launch_template_encode(&r, &q, &err), CORE_E_INVAL,
                "CreateLaunchTemplate", "LaunchTemplateData.IamInstanceProfile");
        r.data.iam_instance_profile_arn = NULL;
        r.data.tag_specs = &fleetspec;
        r.data.ntag_specs = 1;
        REFUSED(aws_ec2_create_launch_template_encode(&r, &q, &err), CORE_E_INVAL,
                "CreateLaunchTemplate", "LaunchTemplateData.TagSpecification.1.ResourceType");
        r.data.tag_specs = &emptyspec;
        REFUSED(aws_ec2_create_launch_template_encode(&r, &q, &err), CORE_E_INVAL,
                "CreateLaunchTemplate", "LaunchTemplateData.TagSpecification.1 has no tags");
        r.data.ntag_specs = 0;
        r.tag_specs = &instspec;
        r.ntag_specs = 1;
        REFUSED(aws_ec2_create_launch_template_encode(&r, &q, &err), CORE_E_INVAL,
                "CreateLaunchTemplate", "TagSpecification.1.ResourceType");
        r.ntag_specs = 0;
        r.data.block_devices = &nodev;
        r.data.nblock_devices = 1;
        REFUSED(aws_ec2_create_launch_template_encode(&r, &q, &err), CORE_E_INVAL,
                "CreateLaunchTemplate", "LaunchTemplateData.BlockDeviceMapping.1.DeviceName");
        r.data.block_devices = &badtype;
        REFUSED(aws_ec2_create_launch_template_encode(&r, &q, &err), CORE_E_INVAL,
                "CreateLaunchTemplate", "LaunchTemplateData.BlockDeviceMapping.1.Ebs.VolumeType");
        r.data.nblock_devices = 0;
        r.data.metadata.http_tokens = "maybe";
        REFUSED(aws_ec2_create_launch_template_encode(&r, &q, &err), CORE_E_INVAL,
                "CreateLaunchTemplate", "LaunchTemplateData.MetadataOptions.HttpTokens");
        r.data.metadata.http_tokens = NULL;
        r.data.metadata.http_put_response_hop_limit = 65;
        REFUSED(aws_ec2_create_launch_template_encode(&r, &q, &err), CORE_E_INVAL,
                "CreateLaunchTemplate", "HttpPutResponseHopLimit");
        r.data.metadata.http_put_response_hop_limit = 0;
        r.client_token = longtok;
        REFUSED(aws_ec2_create_launch_template_encode(&r, &q, &err), CORE_E_INVAL,
                "CreateLaunchTemplate", "ClientToken");
    }
    {
        struct aws_ec2_delete_launch_template_req r = {"lt-1", "name"};
        REFUSED(aws_ec2_delete_launch_template_encode(&r, &q, &err), CORE_E_INVAL,
                "DeleteLaunchTemplate", "LaunchTemplateId");
        r.id = r.name = NULL;
        REFUSED(aws_ec2_delete_launch_template_encode(&r, &q, &err), CORE_E_INVAL,
                "DeleteLaunchTemplate", "LaunchTemplateName");
    }

    /* CreateFleet. */
    {
        struct aws_ec2_create_fleet_req r = {many, 2, 1, "spot", NULL, NULL, NULL, 0, NULL};
        REFUSED(aws_ec2_create_fleet_encode(&r, &q, &err), CORE_E_TOOBIG, "CreateFleet",
                "LaunchTemplateConfigs: 61 overrides in all, at most 60");
        r.configs = &one;
        r.nconfigs = 1;
        r.default_target_capacity_type = "reserved";
        REFUSED(aws_ec2_create_fleet_encode(&r, &q, &err), CORE_E_INVAL, "CreateFleet",
                "TargetCapacitySpecification.DefaultTargetCapacityType");
        r.default_target_capacity_type = NULL;
        REFUSED(aws_ec2_create_fleet_encode(&r, &q, &err), CORE_E_INVAL, "CreateFleet",
                "DefaultTargetCapacityType is required");
        r.default_target_capacity_type = "spot";
        r.total_target_capacity = 0;
        REFUSED(aws_ec2_create_fleet_encode(&r, &q, &err), CORE_E_INVAL, "CreateFleet",
                "TotalTargetCapacity");
        r.total_target_capacity = 1;
        r.spot_allocation_strategy = "diversified";
        REFUSED(aws_ec2_create_fleet_encode(&r, &q, &err), CORE_E_INVAL, "CreateFleet",
                "SpotOptions.AllocationStrategy");
        r.spot_allocation_strategy = NULL;
        r.on_demand_allocation_strategy = "cheapest";
        REFUSED(aws_ec2_create_fleet_encode(&r, &q, &err), CORE_E_INVAL, "CreateFleet",
                "OnDemandOptions.AllocationStrategy");
        r.on_demand_allocation_strategy = NULL;
        r.configs = &noid;
        REFUSED(aws_ec2_create_fleet_encode(&r, &q, &err), CORE_E_INVAL, "CreateFleet",
                "LaunchTemplateConfigs.1.LaunchTemplateSpecification");
        r.configs = &price;
        REFUSED(aws_ec2_create_fleet_encode(&r, &q, &err), CORE_E_INVAL, "CreateFleet",
                "LaunchTemplateConfigs.1.Overrides.1.MaxPrice");
        r.configs = &prio;
        REFUSED(aws_ec2_create_fleet_encode(&r, &q, &err), CORE_E_INVAL, "CreateFleet",
                "LaunchTemplateConfigs.1.Overrides.1.Priority");
        r.configs = &one;
        r.client_token = longtok;
        REFUSED(aws_ec2_create_fleet_encode(&r, &q, &err), CORE_E_INVAL, "CreateFleet",
                "ClientToken must be 1..64");
        r.client_token = "tok\nen";
        REFUSED(aws_ec2_create_fleet_encode(&r, &q, &err), CORE_E_INVAL, "CreateFleet",
                "ClientToken must be printable ASCII");
        r.client_token = "tok\xc3\xa9";
        REFUSED(aws_ec2_create_fleet_encode(&r, &q, &err), CORE_E_INVAL, "CreateFleet",
                "ClientToken");
        r.client_token = "tok\x7f";
        REFUSED(aws_ec2_create_fleet_encode(&r, &q, &err), CORE_E_INVAL, "CreateFleet",
                "ClientToken");
        r.client_token = NULL;
        r.tag_specs = &fleetspec;
        r.ntag_specs = 1;
        fleetspec.resource_type = "image";
        REFUSED(aws_ec2_create_fleet_encode(&r, &q, &err), CORE_E_INVAL, "CreateFleet",
                "TagSpecification.1.ResourceType");
        fleetspec.resource_type = "fleet";
        r.ntag_specs = 0;
        r.nconfigs = 0;
        REFUSED(aws_ec2_create_fleet_encode(&r, &q, &err), CORE_E_INVAL, "CreateFleet",
                "LaunchTemplateConfigs");
    }

    /* RunInstances. */
    {
        struct aws_ec2_run_instances_req r = {.image_id = "ami-1", .min_count = 0,
                                              .max_count = 1};
        REFUSED(aws_ec2_run_instances_encode(&r, &q, &err), CORE_E_INVAL, "RunInstances",
                "MinCount");
        r.min_count = 3;
        r.max_count = 2;
        REFUSED(aws_ec2_run_instances_encode(&r, &q, &err), CORE_E_INVAL, "RunInstances",
                "MaxCount (2) must be at least MinCount (3)");
        r.min_count = r.max_count = 1;
        r.image_id = NULL;
        REFUSED(aws_ec2_run_instances_encode(&r, &q, &err), CORE_E_INVAL, "RunInstances",
                "ImageId");
        r.image_id = "ami-1";
        r.launch_template_version = "2";
        REFUSED(aws_ec2_run_instances_encode(&r, &q, &err), CORE_E_INVAL, "RunInstances",
                "LaunchTemplate.Version");
        r.launch_template_version = NULL;
        r.user_data = big;
        r.user_data_len = sizeof big;
        REFUSED(aws_ec2_run_instances_encode(&r, &q, &err), CORE_E_TOOBIG, "RunInstances",
                "UserData is 16385 bytes, at most 16384");
        r.user_data = NULL;
        r.user_data_len = 3;
        REFUSED(aws_ec2_run_instances_encode(&r, &q, &err), CORE_E_INVAL, "RunInstances",
                "UserData");
        r.user_data_len = 0;
        r.block_devices = &nodev;
        r.nblock_devices = 1;
        nodev.device_name = "/dev/xvdb";
        nodev.iops = -1;
        REFUSED(aws_ec2_run_instances_encode(&r, &q, &err), CORE_E_INVAL, "RunInstances",
                "BlockDeviceMapping.1.Ebs");
        nodev.iops = 0;
        nodev.device_name = NULL;
        r.nblock_devices = 0;
        r.hibernation_configured = (enum aws_ec2_bool)7;
        REFUSED(aws_ec2_run_instances_encode(&r, &q, &err), CORE_E_INVAL, "RunInstances",
                "HibernationOptions.Configured");
    }

    /* Instance state actions, ModifyInstanceAttribute, CreateTags. */
    {
        struct aws_ec2_start_instances_req st = {NULL, 0};
        struct aws_ec2_stop_instances_req sp = {NULL, 1, 0, 0};
        struct aws_ec2_terminate_instances_req te = {nullids, 1};
        struct aws_ec2_modify_instance_attribute_req mo = {NULL, "x", 1};
        struct aws_ec2_create_tags_req ct = {ids, 1, NULL, 0};
        struct aws_ec2_tag badval = {"k", longval};
        struct aws_ec2_tag longkey = {longval, "v"};
        REFUSED(aws_ec2_start_instances_encode(&st, &q, &err), CORE_E_INVAL, "StartInstances",
                "InstanceId");
        REFUSED(aws_ec2_stop_instances_encode(&sp, &q, &err), CORE_E_INVAL, "StopInstances",
                "InstanceId");
        REFUSED(aws_ec2_terminate_instances_encode(&te, &q, &err), CORE_E_INVAL,
                "TerminateInstances", "InstanceId.1");
        REFUSED(aws_ec2_modify_instance_attribute_encode(&mo, &q, &err), CORE_E_INVAL,
                "ModifyInstanceAttribute", "InstanceId");
        mo.instance_id = "i-1";
        mo.user_data = NULL;
        REFUSED(aws_ec2_modify_instance_attribute_encode(&mo, &q, &err), CORE_E_INVAL,
                "ModifyInstanceAttribute", "UserData.Value");
        mo.user_data = big;
        mo.user_data_len = sizeof big;
        REFUSED(aws_ec2_modify_instance_attribute_encode(&mo, &q, &err), CORE_E_TOOBIG,
                "ModifyInstanceAttribute", "UserData.Value");
        REFUSED(aws_ec2_create_tags_encode(&ct, &q, &err), CORE_E_INVAL, "CreateTags", "Tag");
        ct.tags = &awst;
        ct.ntags = 1;
        REFUSED(aws_ec2_create_tags_encode(&ct, &q, &err), CORE_E_INVAL, "CreateTags",
                "Tag.1.Key 'aws:cloudformation'");
        ct.tags = &badval;
        REFUSED(aws_ec2_create_tags_encode(&ct, &q, &err), CORE_E_INVAL, "CreateTags",
                "Tag.1.Value");
        ct.tags = &longkey;
        REFUSED(aws_ec2_create_tags_encode(&ct, &q, &err), CORE_E_INVAL, "CreateTags",
                "Tag.1.Key");
        ct.tags = &okt;
        ct.nresource_ids = 0;
        REFUSED(aws_ec2_create_tags_encode(&ct, &q, &err), CORE_E_INVAL, "CreateTags",
                "ResourceId");
    }
#undef REFUSED
}

/* An allocation failure anywhere in an encoder is CORE_E_NOMEM with the form untouched. */
static void test_encode_alloc_failures(void)
{
    const char *sgs[] = {"sg-1", "sg-2"};
    struct aws_ec2_tag tags[] = {{"a", "b"}, {"c", "d"}};
    struct aws_ec2_tag_spec spec = {"instance", tags, 2};
    struct aws_ec2_block_device bd = {"/dev/xvda", 40, "gp3", AWS_EC2_TRUE, AWS_EC2_TRUE, 0, 0};
    struct aws_ec2_run_instances_req req = {.image_id = "ami-1", .min_count = 1, .max_count = 1,
                                            .security_group_ids = sgs, .nsecurity_group_ids = 2,
                                            .user_data = "hello", .user_data_len = 5,
                                            .block_devices = &bd, .nblock_devices = 1,
                                            .tag_specs = &spec, .ntag_specs = 1,
                                            .client_token = "t"};
    unsigned long n, failures;
    int failed_once = 0;

    for (n = 1; n < 1000; n++) {
        struct aws_query q;
        struct core_err err;
        int rc;
        q_with_keep(&q);
        core_alloc_fail_after(n);
        rc = aws_ec2_run_instances_encode(&req, &q, &err);
        failures = core_alloc_failures();
        core_alloc_fail_after(0);
        if (failures == 0) {
            CU_ASSERT_EQUAL(rc, 0);
            aws_query_cleanup(&q);
            break;
        }
        failed_once = 1;
        CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "RunInstances"));
        CU_ASSERT_EQUAL(q.n, 1);
        aws_query_cleanup(&q);
    }
    CU_ASSERT(failed_once);
    CU_ASSERT(n < 1000);
}

/* ============================================================================================ */
/* Decoding                                                                                      */
/* ============================================================================================ */

static void check_page1(const struct aws_ec2_instances *r)
{
    const struct aws_ec2_instance *a = &r->v[0], *b = &r->v[1], *c = &r->v[2];

    CU_ASSERT_STRING_EQUAL(a->instance_id, "i-0aaaaaaaaaaaaaaa1");
    CU_ASSERT_STRING_EQUAL(a->instance_type, "m7g.large");
    CU_ASSERT_STRING_EQUAL(a->image_id, "ami-0abcdef1234567890");
    CU_ASSERT_STRING_EQUAL(a->state_name, "running");
    CU_ASSERT_EQUAL(a->state_code, 16);
    CU_ASSERT_PTR_NULL(a->state_reason_code);
    CU_ASSERT_PTR_NULL(a->state_transition_reason); /* <reason/> is empty: absent */
    CU_ASSERT_STRING_EQUAL(a->subnet_id, "subnet-0123456789abcdef0");
    CU_ASSERT_STRING_EQUAL(a->vpc_id, "vpc-0fedcba9876543210");
    CU_ASSERT_STRING_EQUAL(a->availability_zone, "us-east-1a");
    CU_ASSERT_STRING_EQUAL(a->private_ip, "10.0.1.17");
    CU_ASSERT_STRING_EQUAL(a->private_dns_name, "ip-10-0-1-17.ec2.internal");
    CU_ASSERT_EQUAL(a->launch_time, INT64_C(1772446530) * S);
    CU_ASSERT_STRING_EQUAL(a->architecture, "arm64");
    CU_ASSERT_STRING_EQUAL(a->lifecycle, "spot");
    CU_ASSERT_STRING_EQUAL(a->spot_instance_request_id, "sir-abcd1234");
    CU_ASSERT_STRING_EQUAL(a->iam_instance_profile_arn,
                           "arn:aws:iam::123456789012:instance-profile/stoker-node");
    CU_ASSERT_EQUAL(a->hibernation_configured, 0);
    CU_ASSERT_STRING_EQUAL(a->client_token, "fleet-7f3e-0001");
    CU_ASSERT_EQUAL(a->tags.n, 3);
    CU_ASSERT(has_tag(&a->tags, "Name", "stoker/default"));
    CU_ASSERT(has_tag(&a->tags, "stoker.dev/nodeclaim", "default-x7k2p"));
    CU_ASSERT(has_tag(&a->tags, "empty", "")); /* an empty value is "" */

    CU_ASSERT_STRING_EQUAL(b->instance_id, "i-0aaaaaaaaaaaaaaa2");
    CU_ASSERT_STRING_EQUAL(b->state_name, "stopped");
    CU_ASSERT_EQUAL(b->state_code, 80);
    CU_ASSERT_STRING_EQUAL(b->state_reason_code, "Client.UserInitiatedHibernate");
    CU_ASSERT_STRING_EQUAL(b->state_reason_message,
                           "Client.UserInitiatedHibernate: User initiated hibernate");
    CU_ASSERT_STRING_EQUAL(b->state_transition_reason,
                           "User initiated (2026-03-02 11:00:00 GMT)");
    CU_ASSERT_PTR_NULL(b->lifecycle); /* on-demand */
    CU_ASSERT_PTR_NULL(b->iam_instance_profile_arn);
    CU_ASSERT_EQUAL(b->hibernation_configured, 1);
    CU_ASSERT_EQUAL(b->tags.n, 1);

    /* The second reservation's instance follows the first reservation's. */
    CU_ASSERT_STRING_EQUAL(c->instance_id, "i-0aaaaaaaaaaaaaaa3");
    CU_ASSERT_STRING_EQUAL(c->state_name, "pending");
    CU_ASSERT_EQUAL(c->state_code, 0);
    CU_ASSERT_EQUAL(c->launch_time, (INT64_C(1772445600) + 25 * 60) * S);
    CU_ASSERT_PTR_NULL(c->subnet_id);
}

static void test_decode_describe_instances_pages(void)
{
    struct aws_xml_parser *p1 = NULL, *p2 = NULL;
    const struct aws_xml_node *r1 = load(&p1, "DescribeInstances.xml");
    const struct aws_xml_node *r2 = load(&p2, "DescribeInstances-2.xml");
    struct aws_ec2_instances res = {0};
    struct core_err err;
    char *tok = (char *)"untouched";

    CU_ASSERT_PTR_NOT_NULL_FATAL(r1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r2);
    CU_ASSERT_EQUAL(aws_ec2_describe_instances_decode(r1, &res, &tok, &err), 0);
    CU_ASSERT_EQUAL_FATAL(res.n, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
    CU_ASSERT_STRING_EQUAL(tok, "eyJ2IjoiMiIsImMiOiJwYWdlMiJ9");
    core_free(tok);
    check_page1(&res);

    /* The second page appends; it has no nextToken, and its instance has no tags. */
    CU_ASSERT_EQUAL(aws_ec2_describe_instances_decode(r2, &res, &tok, &err), 0);
    CU_ASSERT_PTR_NULL(tok);
    CU_ASSERT_EQUAL_FATAL(res.n, 4);
    check_page1(&res);
    CU_ASSERT_STRING_EQUAL(res.v[3].instance_id, "i-0aaaaaaaaaaaaaaa4");
    CU_ASSERT_STRING_EQUAL(res.v[3].state_name, "terminated");
    CU_ASSERT_STRING_EQUAL(res.v[3].state_transition_reason, "Server.SpotInstanceTermination");
    CU_ASSERT_EQUAL(res.v[3].tags.n, 0);
    CU_ASSERT_PTR_NULL(res.v[3].tags.v);
    CU_ASSERT_PTR_NULL(res.v[3].private_dns_name);

    /* next_token may be NULL when the caller does not page. */
    CU_ASSERT_EQUAL(aws_ec2_describe_instances_decode(r2, &res, NULL, &err), 0);
    CU_ASSERT_EQUAL(res.n, 5);

    aws_ec2_instances_cleanup(&res);
    CU_ASSERT_EQUAL(res.n, 0);
    CU_ASSERT_PTR_NULL(res.v);
    aws_ec2_instances_cleanup(&res); /* again: a zeroed struct */
    aws_ec2_instances_cleanup(NULL);
    aws_xml_parser_free(p1);
    aws_xml_parser_free(p2);
}

static void test_decode_instance_types(void)
{
    struct aws_xml_parser *p = NULL;
    const struct aws_xml_node *root = load(&p, "DescribeInstanceTypes.xml");
    struct aws_ec2_instance_types r = {0};
    const struct aws_ec2_instance_type *g, *inf2, *inf1, *metal, *m5;
    struct core_err err;
    char *tok = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_instance_types_decode(root, &r, &tok, &err), 0);
    CU_ASSERT_PTR_NULL(tok); /* <nextToken/> is the last page */
    CU_ASSERT_EQUAL_FATAL(r.n, 5);
    g = &r.v[0];
    inf2 = &r.v[1];
    inf1 = &r.v[2];
    metal = &r.v[3];
    m5 = &r.v[4];

    CU_ASSERT_STRING_EQUAL(g->instance_type, "g5.xlarge");
    CU_ASSERT_EQUAL(g->current_generation, 1);
    CU_ASSERT_EQUAL_FATAL(g->usage_classes.n, 2);
    CU_ASSERT_STRING_EQUAL(g->usage_classes.v[0], "on-demand");
    CU_ASSERT_STRING_EQUAL(g->usage_classes.v[1], "spot");
    CU_ASSERT_EQUAL_FATAL(g->architectures.n, 1);
    CU_ASSERT_STRING_EQUAL(g->architectures.v[0], "x86_64");
    CU_ASSERT_DOUBLE_EQUAL(g->clock_ghz, 3.3, 1e-9);
    CU_ASSERT_EQUAL(g->vcpus, 4);
    CU_ASSERT_EQUAL(g->memory_mib, 16384);
    CU_ASSERT_EQUAL_FATAL(g->ngpus, 1);
    CU_ASSERT_STRING_EQUAL(g->gpus[0].name, "A10G");
    CU_ASSERT_STRING_EQUAL(g->gpus[0].manufacturer, "NVIDIA");
    CU_ASSERT_EQUAL(g->gpus[0].count, 1);
    CU_ASSERT_EQUAL(g->gpus[0].memory_mib, 24576);
    CU_ASSERT_EQUAL(g->gpu_memory_mib, 24576);
    CU_ASSERT_EQUAL(g->ninference, 0);
    CU_ASSERT_EQUAL(g->nneuron, 0);
    CU_ASSERT_EQUAL(g->max_network_interfaces, 4);
    CU_ASSERT_EQUAL(g->ipv4_per_interface, 15);
    CU_ASSERT_STRING_EQUAL(g->network_performance, "Up to 10 Gigabit");
    CU_ASSERT_EQUAL(g->encryption_in_transit, 1);
    CU_ASSERT_EQUAL(g->instance_storage_supported, 1);
    CU_ASSERT_EQUAL(g->instance_storage_gb, 250);
    CU_ASSERT_EQUAL(g->hibernation_supported, 0);
    CU_ASSERT_EQUAL(g->bare_metal, 0);
    CU_ASSERT_STRING_EQUAL(g->hypervisor, "nitro");
    CU_ASSERT_EQUAL(g->ebs_max_bandwidth_mbps, 3500);

    CU_ASSERT_STRING_EQUAL(inf2->instance_type, "inf2.xlarge");
    CU_ASSERT_EQUAL(inf2->ngpus, 0);
    CU_ASSERT_EQUAL_FATAL(inf2->nneuron, 1);
    CU_ASSERT_STRING_EQUAL(inf2->neuron[0].name, "Inferentia2");
    CU_ASSERT_EQUAL(inf2->neuron[0].count, 1);
    CU_ASSERT_EQUAL(inf2->ebs_max_bandwidth_mbps, 10000);
    CU_ASSERT_EQUAL(inf2->instance_storage_gb, 0);

    CU_ASSERT_EQUAL_FATAL(inf1->ninference, 1);
    CU_ASSERT_STRING_EQUAL(inf1->inference[0].name, "Inferentia");
    CU_ASSERT_EQUAL(inf1->inference[0].count, 1);
    CU_ASSERT_EQUAL(inf1->vcpus, 8);
    CU_ASSERT_DOUBLE_EQUAL(inf1->clock_ghz, 0.0, 1e-12); /* absent */

    CU_ASSERT_EQUAL(metal->bare_metal, 1);
    CU_ASSERT_PTR_NULL(metal->hypervisor);
    CU_ASSERT_STRING_EQUAL(metal->architectures.v[0], "arm64");
    CU_ASSERT_EQUAL(metal->memory_mib, 262144);

    CU_ASSERT_EQUAL(m5->hibernation_supported, 1);
    CU_ASSERT_EQUAL(m5->encryption_in_transit, 0);

    aws_ec2_instance_types_cleanup(&r);
    aws_xml_parser_free(p);
}

static void test_decode_catalog_actions(void)
{
    struct aws_xml_parser *p = NULL;
    const struct aws_xml_node *root;
    struct core_err err;
    char *tok = NULL;

    {
        struct aws_ec2_offerings r = {0};
        root = load(&p, "DescribeInstanceTypeOfferings.xml");
        CU_ASSERT_EQUAL(aws_ec2_describe_instance_type_offerings_decode(root, &r, &tok, &err), 0);
        CU_ASSERT_EQUAL_FATAL(r.n, 3);
        CU_ASSERT_STRING_EQUAL(r.v[1].instance_type, "m7g.large");
        CU_ASSERT_STRING_EQUAL(r.v[1].location_type, "availability-zone");
        CU_ASSERT_STRING_EQUAL(r.v[1].location, "us-east-1b");
        CU_ASSERT_STRING_EQUAL(r.v[2].instance_type, "g5.xlarge");
        CU_ASSERT_PTR_NOT_NULL(tok);
        if (tok)
            CU_ASSERT_STRING_EQUAL(tok, "offerings-page-2");
        core_free(tok);
        tok = NULL;
        aws_ec2_offerings_cleanup(&r);
        aws_xml_parser_free(p);
    }
    {
        struct aws_ec2_subnets r = {0};
        root = load(&p, "DescribeSubnets.xml");
        CU_ASSERT_EQUAL(aws_ec2_describe_subnets_decode(root, &r, &tok, &err), 0);
        CU_ASSERT_PTR_NULL(tok);
        CU_ASSERT_EQUAL_FATAL(r.n, 2);
        CU_ASSERT_STRING_EQUAL(r.v[0].subnet_id, "subnet-0123456789abcdef0");
        CU_ASSERT_STRING_EQUAL(r.v[0].vpc_id, "vpc-0fedcba9876543210");
        CU_ASSERT_STRING_EQUAL(r.v[0].availability_zone, "us-east-1a");
        CU_ASSERT_STRING_EQUAL(r.v[0].availability_zone_id, "use1-az4");
        CU_ASSERT_EQUAL(r.v[0].available_ips, 8102);
        CU_ASSERT_STRING_EQUAL(r.v[0].cidr_block, "10.0.0.0/19");
        CU_ASSERT_EQUAL(r.v[0].map_public_ip_on_launch, 0);
        CU_ASSERT(has_tag(&r.v[0].tags, "karpenter.sh/discovery", "prod"));
        CU_ASSERT_EQUAL(r.v[1].available_ips, 12);
        CU_ASSERT_EQUAL(r.v[1].map_public_ip_on_launch, 1);
        CU_ASSERT_EQUAL(r.v[1].tags.n, 0);
        aws_ec2_subnets_cleanup(&r);
        aws_xml_parser_free(p);
    }
    {
        struct aws_ec2_security_groups r = {0};
        root = load(&p, "DescribeSecurityGroups.xml");
        CU_ASSERT_EQUAL(aws_ec2_describe_security_groups_decode(root, &r, &tok, &err), 0);
        CU_ASSERT_EQUAL_FATAL(r.n, 1);
        CU_ASSERT_STRING_EQUAL(r.v[0].group_id, "sg-0123456789abcdef0");
        CU_ASSERT_STRING_EQUAL(r.v[0].group_name, "eks-cluster-sg-prod");
        CU_ASSERT_STRING_EQUAL(r.v[0].description, "EKS created security group & friends");
        CU_ASSERT_STRING_EQUAL(r.v[0].vpc_id, "vpc-0fedcba9876543210");
        CU_ASSERT_EQUAL(r.v[0].tags.n, 1); /* the nested ipPermissions items are not tags */
        aws_ec2_security_groups_cleanup(&r);
        aws_xml_parser_free(p);
    }
    {
        struct aws_ec2_images r = {0};
        root = load(&p, "DescribeImages.xml");
        CU_ASSERT_EQUAL(aws_ec2_describe_images_decode(root, &r, &tok, &err), 0);
        CU_ASSERT_EQUAL_FATAL(r.n, 2);
        CU_ASSERT_STRING_EQUAL(r.v[0].image_id, "ami-0abcdef1234567890");
        CU_ASSERT_STRING_EQUAL(r.v[0].name, "amazon-eks-node-al2023-arm64-standard-1.31-v20260215");
        CU_ASSERT_PTR_NOT_NULL(strstr(r.v[0].description, "Amazon Linux 2023"));
        CU_ASSERT_STRING_EQUAL(r.v[0].architecture, "arm64");
        CU_ASSERT_EQUAL(r.v[0].creation_date, (INT64_C(1771128773)) * S); /* 2026-02-15T04:12:53Z */
        CU_ASSERT_EQUAL(r.v[0].deprecation_time, (INT64_C(1834200773)) * S); /* 2028-02-15T04:12:53Z */
        CU_ASSERT_STRING_EQUAL(r.v[0].state, "available");
        CU_ASSERT_STRING_EQUAL(r.v[0].owner_id, "602401143452");
        CU_ASSERT_STRING_EQUAL(r.v[0].owner_alias, "amazon");
        CU_ASSERT_STRING_EQUAL(r.v[0].platform_details, "Linux/UNIX");
        CU_ASSERT_STRING_EQUAL(r.v[0].root_device_name, "/dev/xvda");
        CU_ASSERT_EQUAL(r.v[0].tags.n, 0); /* <tagSet/> */
        CU_ASSERT_PTR_NULL(r.v[1].owner_alias);
        CU_ASSERT_EQUAL(r.v[1].deprecation_time, 0);
        CU_ASSERT(has_tag(&r.v[1].tags, "team", "platform"));
        aws_ec2_images_cleanup(&r);
        aws_xml_parser_free(p);
    }
    {
        struct aws_ec2_spot_prices r = {0};
        root = load(&p, "DescribeSpotPriceHistory.xml");
        CU_ASSERT_EQUAL(aws_ec2_describe_spot_price_history_decode(root, &r, &tok, &err), 0);
        CU_ASSERT_PTR_NULL(tok);
        CU_ASSERT_EQUAL_FATAL(r.n, 2);
        CU_ASSERT_STRING_EQUAL(r.v[0].instance_type, "m7g.large");
        CU_ASSERT_STRING_EQUAL(r.v[0].availability_zone, "us-east-1a");
        CU_ASSERT_STRING_EQUAL(r.v[0].product_description, "Linux/UNIX");
        CU_ASSERT_DOUBLE_EQUAL(r.v[0].spot_price, 0.0356, 1e-12);
        CU_ASSERT_EQUAL(r.v[0].timestamp, (INT64_C(1772445600) - 3600) * S);
        CU_ASSERT_DOUBLE_EQUAL(r.v[1].spot_price, 0.4415, 1e-12);
        aws_ec2_spot_prices_cleanup(&r);
        aws_xml_parser_free(p);
    }
    {
        struct aws_ec2_launch_templates r = {0};
        root = load(&p, "DescribeLaunchTemplates.xml");
        CU_ASSERT_EQUAL(aws_ec2_describe_launch_templates_decode(root, &r, &tok, &err), 0);
        CU_ASSERT_EQUAL_FATAL(r.n, 1);
        CU_ASSERT_STRING_EQUAL(r.v[0].launch_template_id, "lt-0123456789abcdef0");
        CU_ASSERT_STRING_EQUAL(r.v[0].launch_template_name, "stoker/prod/default-7f3e");
        CU_ASSERT_EQUAL(r.v[0].create_time, (INT64_C(1772445600) - 22 * 3600) * S);
        CU_ASSERT_EQUAL(r.v[0].default_version, 1);
        CU_ASSERT_EQUAL(r.v[0].latest_version, 3);
        CU_ASSERT(has_tag(&r.v[0].tags, "stoker.dev/cluster", "prod"));
        aws_xml_parser_free(p);

        /* Create and Delete append their single template. */
        root = load(&p, "CreateLaunchTemplate.xml");
        CU_ASSERT_EQUAL(aws_ec2_create_launch_template_decode(root, &r, &err), 0);
        aws_xml_parser_free(p);
        root = load(&p, "DeleteLaunchTemplate.xml");
        CU_ASSERT_EQUAL(aws_ec2_delete_launch_template_decode(root, &r, &err), 0);
        CU_ASSERT_EQUAL_FATAL(r.n, 3);
        CU_ASSERT_STRING_EQUAL(r.v[1].launch_template_id, "lt-0fedcba9876543210");
        CU_ASSERT_STRING_EQUAL(r.v[1].launch_template_name, "stoker/prod/gpu-1a2b");
        CU_ASSERT_EQUAL(r.v[1].latest_version, 1);
        CU_ASSERT_STRING_EQUAL(r.v[2].launch_template_id, "lt-0123456789abcdef0");
        /* The wrong action's document is refused. */
        CU_ASSERT_EQUAL(aws_ec2_create_launch_template_decode(root, &r, &err), CORE_E_PARSE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "CreateLaunchTemplate"));
        CU_ASSERT_EQUAL(r.n, 3);
        aws_ec2_launch_templates_cleanup(&r);
        aws_xml_parser_free(p);
    }
}

static void test_decode_create_fleet_partial(void)
{
    struct aws_xml_parser *p = NULL;
    const struct aws_xml_node *root = load(&p, "CreateFleet.xml");
    struct aws_ec2_fleet f = {0};
    struct core_err err;

    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_create_fleet_decode(root, &f, &err), 0);
    CU_ASSERT_STRING_EQUAL(f.fleet_id, "fleet-7f3e1c2a-0b1d-4c6e-9a8b-1234567890ab");
    CU_ASSERT_EQUAL_FATAL(f.ninstances, 1);
    CU_ASSERT_EQUAL_FATAL(f.instances[0].instance_ids.n, 2);
    CU_ASSERT_STRING_EQUAL(f.instances[0].instance_ids.v[0], "i-0bbbbbbbbbbbbbbb1");
    CU_ASSERT_STRING_EQUAL(f.instances[0].instance_ids.v[1], "i-0bbbbbbbbbbbbbbb2");
    CU_ASSERT_STRING_EQUAL(f.instances[0].instance_type, "g5.xlarge");
    CU_ASSERT_STRING_EQUAL(f.instances[0].lifecycle, "on-demand");
    CU_ASSERT_STRING_EQUAL(f.instances[0].overrides.subnet_id, "subnet-0c");
    CU_ASSERT_STRING_EQUAL(f.instances[0].overrides.availability_zone, "us-east-1c");
    CU_ASSERT_STRING_EQUAL(f.instances[0].overrides.instance_type, "g5.xlarge");
    CU_ASSERT_DOUBLE_EQUAL(f.instances[0].overrides.priority, 1.0, 1e-12);

    CU_ASSERT_EQUAL_FATAL(f.nerrors, 2);
    CU_ASSERT_STRING_EQUAL(f.errors[0].code, "InsufficientInstanceCapacity");
    CU_ASSERT_PTR_NOT_NULL(strstr(f.errors[0].message, "sufficient g5.xlarge capacity"));
    CU_ASSERT_STRING_EQUAL(f.errors[0].lifecycle, "on-demand");
    CU_ASSERT_STRING_EQUAL(f.errors[0].overrides.instance_type, "g5.xlarge");
    CU_ASSERT_STRING_EQUAL(f.errors[0].overrides.subnet_id, "subnet-0123456789abcdef0");
    CU_ASSERT_STRING_EQUAL(f.errors[0].overrides.availability_zone, "us-east-1a");
    CU_ASSERT_PTR_NULL(f.errors[0].overrides.image_id);
    CU_ASSERT_STRING_EQUAL(f.errors[1].code, "InvalidParameterValue");
    CU_ASSERT_STRING_EQUAL(f.errors[1].overrides.image_id, "ami-0fedcba0987654321");
    CU_ASSERT_DOUBLE_EQUAL(f.errors[1].overrides.priority, 2.5, 1e-12);

    CU_ASSERT_EQUAL(aws_ec2_fleet_error_is_capacity(&f.errors[0]), 1);
    CU_ASSERT_EQUAL(aws_ec2_fleet_error_is_capacity(&f.errors[1]), 0);
    CU_ASSERT_EQUAL(aws_ec2_fleet_error_is_capacity(NULL), 0);
    {
        struct aws_ec2_fleet_error none = {0};
        CU_ASSERT_EQUAL(aws_ec2_fleet_error_is_capacity(&none), 0);
    }

    /* Decoding again appends and keeps the first fleet id. */
    CU_ASSERT_EQUAL(aws_ec2_create_fleet_decode(root, &f, &err), 0);
    CU_ASSERT_EQUAL(f.ninstances, 2);
    CU_ASSERT_EQUAL(f.nerrors, 4);
    aws_xml_parser_free(p);
    {
        const char *other = "<CreateFleetResponse><fleetId>fleet-other</fleetId><errorSet><item>"
                            "<errorCode>VcpuLimitExceeded</errorCode></item></errorSet>"
                            "</CreateFleetResponse>";
        root = parse_text(&p, other, strlen(other), &err);
        CU_ASSERT_EQUAL(aws_ec2_create_fleet_decode(root, &f, &err), 0);
        CU_ASSERT_EQUAL(f.nerrors, 5);
        CU_ASSERT_EQUAL(aws_ec2_fleet_error_is_capacity(&f.errors[4]), 1);
        CU_ASSERT_PTR_NULL(f.errors[4].message);
        aws_xml_parser_free(p);
    }
    CU_ASSERT_STRING_EQUAL(f.fleet_id, "fleet-7f3e1c2a-0b1d-4c6e-9a8b-1234567890ab");
    aws_ec2_fleet_cleanup(&f);
    CU_ASSERT_PTR_NULL(f.fleet_id);
    CU_ASSERT_EQUAL(f.nerrors, 0);
}

static void test_decode_instance_actions(void)
{
    static const struct {
        const char *file;
        int (*decode)(const struct aws_xml_node *, struct aws_ec2_state_changes *,
                      struct core_err *);
        const char *cur, *prev;
        int64_t cur_code;
    } cases[] = {
        {"StartInstances.xml", aws_ec2_start_instances_decode, "pending", "stopped", 0},
        {"StopInstances.xml", aws_ec2_stop_instances_decode, "stopping", "running", 64},
        {"TerminateInstances.xml", aws_ec2_terminate_instances_decode, "shutting-down",
         "running", 32},
    };
    struct aws_xml_parser *p = NULL;
    const struct aws_xml_node *root;
    struct core_err err;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct aws_ec2_state_changes r = {0};
        root = load(&p, cases[i].file);
        CU_ASSERT_EQUAL(cases[i].decode(root, &r, &err), 0);
        CU_ASSERT_EQUAL_FATAL(r.n, 2);
        CU_ASSERT_STRING_EQUAL(r.v[1].instance_id, "i-0aaaaaaaaaaaaaaa2");
        CU_ASSERT_STRING_EQUAL(r.v[0].current_name, cases[i].cur);
        CU_ASSERT_EQUAL(r.v[0].current_code, cases[i].cur_code);
        CU_ASSERT_STRING_EQUAL(r.v[0].previous_name, cases[i].prev);
        /* Another action's answer is not taken for this one. */
        CU_ASSERT_EQUAL(cases[(i + 1) % 3].decode(root, &r, &err), CORE_E_PARSE);
        CU_ASSERT_EQUAL(r.n, 2);
        aws_ec2_state_changes_cleanup(&r);
        aws_xml_parser_free(p);
    }

    {
        struct aws_ec2_instances r = {0};
        root = load(&p, "RunInstances.xml");
        CU_ASSERT_EQUAL(aws_ec2_run_instances_decode(root, &r, &err), 0);
        CU_ASSERT_EQUAL_FATAL(r.n, 1);
        CU_ASSERT_STRING_EQUAL(r.v[0].instance_id, "i-0ccccccccccccccc1");
        CU_ASSERT_STRING_EQUAL(r.v[0].state_name, "pending");
        CU_ASSERT_STRING_EQUAL(r.v[0].client_token, "warm-general-0001");
        CU_ASSERT_EQUAL(r.v[0].hibernation_configured, 1);
        CU_ASSERT(has_tag(&r.v[0].tags, "stoker.dev/warm-pool", "general"));
        aws_ec2_instances_cleanup(&r);
        aws_xml_parser_free(p);
    }

    root = load(&p, "ModifyInstanceAttribute.xml");
    CU_ASSERT_EQUAL(aws_ec2_modify_instance_attribute_decode(root, &err), 0);
    CU_ASSERT_EQUAL(aws_ec2_create_tags_decode(root, &err), CORE_E_PARSE);
    aws_xml_parser_free(p);
    root = load(&p, "CreateTags.xml");
    CU_ASSERT_EQUAL(aws_ec2_create_tags_decode(root, &err), 0);
    aws_xml_parser_free(p);

    {
        const char *f = "<CreateTagsResponse><return>false</return></CreateTagsResponse>";
        const char *m = "<CreateTagsResponse><requestId>x</requestId></CreateTagsResponse>";
        root = parse_text(&p, f, strlen(f), &err);
        CU_ASSERT_EQUAL(aws_ec2_create_tags_decode(root, &err), CORE_E_SERVICE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "CreateTags: "));
        aws_xml_parser_free(p);
        root = parse_text(&p, m, strlen(m), &err);
        CU_ASSERT_EQUAL(aws_ec2_create_tags_decode(root, &err), CORE_E_PARSE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "CreateTags: return"));
        aws_xml_parser_free(p);
    }
}

/* Every failure leaves the caller's result and token as they were. */
static void test_decode_errors(void)
{
    struct aws_xml_parser *p = NULL, *good = NULL;
    const struct aws_xml_node *root, *groot = load(&good, "DescribeInstances-2.xml");
    struct aws_ec2_instances res = {0};
    struct core_err err;
    char *tok = (char *)"untouched";
    size_t len;
    char *text;

    CU_ASSERT_PTR_NOT_NULL_FATAL(groot);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_instances_decode(groot, &res, NULL, &err), 0);

    /* A missing required element: the path names the reservation, the instance, the field. */
    root = load(&p, "bad/DescribeInstances-missing-id.xml");
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_EQUAL(aws_ec2_describe_instances_decode(root, &res, &tok, &err), CORE_E_PARSE);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(err.message, "DescribeInstances: reservationSet/item[1]/instancesSet/item[1]/"
                            "instanceId: required element missing"));
    CU_ASSERT_EQUAL(res.n, 1);
    CU_ASSERT_STRING_EQUAL(res.v[0].instance_id, "i-0aaaaaaaaaaaaaaa4");
    CU_ASSERT_STRING_EQUAL(tok, "untouched");
    aws_xml_parser_free(p);

    /* A malformed number. */
    {
        struct aws_ec2_subnets s = {0};
        root = load(&p, "bad/DescribeSubnets-bad-number.xml");
        CU_ASSERT_EQUAL(aws_ec2_describe_subnets_decode(root, &s, &tok, &err), CORE_E_PARSE);
        CU_ASSERT_STRING_EQUAL(err.message, "DescribeSubnets: subnetSet/item[0]/"
                                            "availableIpAddressCount: not an integer '12O'");
        CU_ASSERT_EQUAL(s.n, 0);
        CU_ASSERT_PTR_NULL(s.v);
        aws_xml_parser_free(p);
    }

    /* Malformed booleans, times and prices, built by hand. */
    {
        static const struct {
            const char *doc, *want;
        } bad[] = {
            {"<DescribeInstancesResponse><reservationSet><item><instancesSet><item>"
             "<instanceId>i-1</instanceId><instanceState><code>1x</code><name>running</name>"
             "</instanceState></item></instancesSet></item></reservationSet>"
             "</DescribeInstancesResponse>",
             "instanceState/code: not an integer '1x'"},
            {"<DescribeInstancesResponse><reservationSet><item><instancesSet><item>"
             "<instanceId>i-1</instanceId><instanceState><code>16</code><name>running</name>"
             "</instanceState><launchTime>yesterday</launchTime></item></instancesSet></item>"
             "</reservationSet></DescribeInstancesResponse>",
             "launchTime: not an RFC 3339 time 'yesterday'"},
            {"<DescribeInstancesResponse><reservationSet><item><instancesSet><item>"
             "<instanceId>i-1</instanceId><instanceState><code>16</code><name>running</name>"
             "</instanceState><hibernationOptions><configured>yes</configured>"
             "</hibernationOptions></item></instancesSet></item></reservationSet>"
             "</DescribeInstancesResponse>",
             "hibernationOptions/configured: not true or false 'yes'"},
            {"<DescribeInstancesResponse><reservationSet><item><instancesSet><item>"
             "<instanceId>i-1</instanceId><instanceState><code>99999999999999999999</code>"
             "<name>running</name></instanceState></item></instancesSet></item>"
             "</reservationSet></DescribeInstancesResponse>",
             "instanceState/code: not an integer"},
            {"<DescribeInstancesResponse><reservationSet><item><instancesSet><item>"
             "<instanceId>i-1</instanceId><instanceState><code>16</code></instanceState>"
             "</item></instancesSet></item></reservationSet></DescribeInstancesResponse>",
             "instanceState/name: required element missing"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            root = parse_text(&p, bad[i].doc, strlen(bad[i].doc), &err);
            CU_ASSERT_PTR_NOT_NULL_FATAL(root);
            CU_ASSERT_EQUAL(aws_ec2_describe_instances_decode(root, &res, &tok, &err),
                            CORE_E_PARSE);
            CU_ASSERT_PTR_NOT_NULL(strstr(err.message, bad[i].want));
            if (!strstr(err.message, bad[i].want))
                fprintf(stderr, "\n  '%s' lacks '%s'\n", err.message, bad[i].want);
            CU_ASSERT_EQUAL(res.n, 1);
            aws_xml_parser_free(p);
        }
    }
    {
        static const char *prices[] = {"0.1abc", "", "nan", "inf", "1e999"};
        for (size_t i = 0; i < sizeof prices / sizeof prices[0]; i++) {
            struct aws_ec2_spot_prices s = {0};
            char doc[512];
            snprintf(doc, sizeof doc,
                     "<DescribeSpotPriceHistoryResponse><spotPriceHistorySet><item>"
                     "<instanceType>m5.large</instanceType><availabilityZone>a</availabilityZone>"
                     "<spotPrice>%s</spotPrice></item></spotPriceHistorySet>"
                     "</DescribeSpotPriceHistoryResponse>",
                     prices[i]);
            root = parse_text(&p, doc, strlen(doc), &err);
            CU_ASSERT_EQUAL(aws_ec2_describe_spot_price_history_decode(root, &s, NULL, &err),
                            CORE_E_PARSE);
            CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "spotPriceHistorySet/item[0]/spotPrice"));
            CU_ASSERT_EQUAL(s.n, 0);
            aws_xml_parser_free(p);
        }
    }

    /* A proxy's HTML page that happens to be well-formed XML: the wrong root. */
    root = load(&p, "bad/proxy-502.html");
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_EQUAL(aws_ec2_describe_instances_decode(root, &res, &tok, &err), CORE_E_PARSE);
    CU_ASSERT_STRING_EQUAL(err.message,
                           "DescribeInstances: expected <DescribeInstancesResponse>, the answer "
                           "is <html>");
    aws_xml_parser_free(p);
    /* Real proxy pages are rarely well-formed (<hr>) or carry a DOCTYPE: they never become a
     * tree, so the decoders never see them. */
    text = read_fixture("bad/proxy-502-nginx.html", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NULL(parse_text(&p, text, len, &err));
    CU_ASSERT_EQUAL(err.code, CORE_E_PARSE);
    core_free(text);
    text = read_fixture("bad/proxy-502-doctype.html", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NULL(parse_text(&p, text, len, &err));
    CU_ASSERT_EQUAL(err.code, CORE_E_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "document type"));
    core_free(text);

    /* An AWS error document, and another action's answer. */
    {
        const char *e = "<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code>"
                        "<Message>x</Message></Error></Errors><RequestID>r</RequestID></Response>";
        root = parse_text(&p, e, strlen(e), &err);
        CU_ASSERT_EQUAL(aws_ec2_describe_instances_decode(root, &res, &tok, &err), CORE_E_PARSE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "the answer is <Response>"));
        aws_xml_parser_free(p);
        root = load(&p, "DescribeSubnets.xml");
        CU_ASSERT_EQUAL(aws_ec2_describe_instances_decode(root, &res, &tok, &err), CORE_E_PARSE);
        aws_xml_parser_free(p);
    }
    CU_ASSERT_EQUAL(aws_ec2_describe_instances_decode(NULL, &res, &tok, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(aws_ec2_describe_instances_decode(groot, NULL, &tok, &err), CORE_E_INVAL);

    CU_ASSERT_EQUAL(res.n, 1);
    CU_ASSERT_STRING_EQUAL(tok, "untouched");
    aws_ec2_instances_cleanup(&res);
    aws_xml_parser_free(good);
}

/* An allocation failure at any point of parsing and decoding a full page gives CORE_E_NOMEM
 * (the result untouched) or success; never a crash or a leak (ASan/LSan). */
static void alloc_loop(const char *fixture, int (*run)(const struct aws_xml_node *, void *,
                                                       struct core_err *),
                       void *res, size_t (*count)(const void *), size_t before, size_t after)
{
    size_t len = 0;
    char *text = read_fixture(fixture, &len);
    unsigned long n, failures;
    int nomem = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    for (n = 1; n < 100000; n++) {
        struct aws_xml_parser *p = NULL;
        const struct aws_xml_node *root = NULL;
        struct core_err err;
        int rc;

        core_err_clear(&err);
        core_alloc_fail_after(n);
        root = parse_text(&p, text, len, &err);
        rc = root ? run(root, res, &err) : err.code;
        failures = core_alloc_failures();
        core_alloc_fail_after(0);
        aws_xml_parser_free(p);
        if (failures == 0) {
            CU_ASSERT_EQUAL(rc, 0);
            CU_ASSERT_EQUAL(count(res), after);
            break;
        }
        CU_ASSERT(rc == CORE_E_NOMEM || rc == 0);
        if (rc == CORE_E_NOMEM) {
            nomem++;
            CU_ASSERT_EQUAL(count(res), before);
        } else {
            /* The failure hit something optional (never the case today): undo. */
            CU_ASSERT_EQUAL(count(res), after);
            break;
        }
    }
    CU_ASSERT(nomem > 10);
    CU_ASSERT(n < 100000);
    core_free(text);
}

static int run_instances_page(const struct aws_xml_node *root, void *res, struct core_err *err)
{
    char *tok = NULL;
    int rc = aws_ec2_describe_instances_decode(root, res, &tok, err);
    if (!rc && !tok)
        rc = CORE_E_STATE; /* the page has a token: losing it would be a bug */
    core_free(tok);
    return rc;
}
static size_t count_instances(const void *r)
{
    return ((const struct aws_ec2_instances *)r)->n;
}
static int run_types(const struct aws_xml_node *root, void *res, struct core_err *err)
{
    return aws_ec2_describe_instance_types_decode(root, res, NULL, err);
}
static size_t count_types(const void *r)
{
    return ((const struct aws_ec2_instance_types *)r)->n;
}
static int run_fleet(const struct aws_xml_node *root, void *res, struct core_err *err)
{
    return aws_ec2_create_fleet_decode(root, res, err);
}
static size_t count_fleet(const void *r)
{
    const struct aws_ec2_fleet *f = r;
    return f->ninstances * 100 + f->nerrors;
}

static void test_decode_alloc_failures(void)
{
    struct aws_xml_parser *p = NULL;
    const struct aws_xml_node *root = load(&p, "DescribeInstances-2.xml");
    struct aws_ec2_instances inst = {0};
    struct aws_ec2_instance_types types = {0};
    struct aws_ec2_fleet fleet = {0};
    struct core_err err;

    /* Append onto a result that already holds a page. */
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_instances_decode(root, &inst, NULL, &err), 0);
    aws_xml_parser_free(p);
    alloc_loop("DescribeInstances.xml", run_instances_page, &inst, count_instances, 1, 4);
    if (inst.n == 4)
        check_page1(&(struct aws_ec2_instances){inst.v + 1, 3});
    alloc_loop("DescribeInstanceTypes.xml", run_types, &types, count_types, 0, 5);
    alloc_loop("CreateFleet.xml", run_fleet, &fleet, count_fleet, 0, 102);
    aws_ec2_instances_cleanup(&inst);
    aws_ec2_instance_types_cleanup(&types);
    aws_ec2_fleet_cleanup(&fleet);
}

/* ============================================================================================ */
/* End to end: scripted transport, real client                                                   */
/* ============================================================================================ */

struct e2e {
    struct core_clock *clock;
    struct core_loop *loop;
    struct core_http_script *s;
    struct aws_creds_provider *creds;
    struct aws_config cfg;
    struct aws_client *c;
};

static int e2e_setup(struct e2e *x)
{
    struct aws_credentials cr = {(char *)"AKIDEXAMPLE",
                                 (char *)"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL, 0};
    struct aws_client_opts opts = {0};
    struct core_err err;

    memset(x, 0, sizeof *x);
    opts.seed = 7;
    x->clock = core_clock_virtual_new(0, WALL_2026_03_02_10);
    if (!x->clock || core_loop_new(x->clock, NULL, &x->loop, &err) != 0 ||
        core_http_script_new(x->loop, &x->s, &err) != 0 ||
        aws_creds_static_new(x->loop, &cr, &x->creds, &err) != 0)
        return -1;
    core_strlcpy(x->cfg.region, "us-east-1", sizeof x->cfg.region);
    for (int i = 0; i < AWS_SVC_COUNT; i++)
        core_strlcpy(x->cfg.endpoint[i], "http://unused.test", sizeof x->cfg.endpoint[i]);
    core_strlcpy(x->cfg.endpoint[AWS_SVC_EC2], "http://ec2.test", sizeof x->cfg.endpoint[0]);
    x->cfg.imds_disabled = 1;
    if (aws_client_new(x->loop, core_http_script_transport(x->s), x->creds, &x->cfg, &opts,
                       &x->c, &err) != 0) {
        fprintf(stderr, "\n  aws_client_new: %s\n", err.message);
        return -1;
    }
    return 0;
}

static void e2e_teardown(struct e2e *x)
{
    aws_client_free(x->c);
    aws_creds_provider_free(x->creds);
    core_http_script_free(x->s);
    core_loop_free(x->loop);
    core_clock_free(x->clock);
}

/* Queues an answer from a fixture (or literal text when file is NULL). */
static void expect_answer(struct e2e *x, long status, const char *file, const char *text)
{
    struct core_http_script_step st = {.method = "POST", .url = "http://ec2.test*",
                                       .status = status};
    static const char *const xml_ct[] = {"Content-Type: text/xml;charset=UTF-8"};
    size_t len = 0;
    char *body = file ? read_fixture(file, &len) : NULL;
    st.headers = xml_ct;
    st.nheaders = 1;
    st.body = file ? body : text;
    st.body_len = file ? len : strlen(text);
    CU_ASSERT_EQUAL(core_http_script_expect(x->s, &st), 0);
    core_free(body);
}

static void e2e_run(struct e2e *x, const int *flag)
{
    struct core_err err;
    int rc = core_loop_run_until(x->loop, flag, core_loop_now(x->loop) + 3600 * S, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "\n  loop: %s\n", err.message);
}

static const char *sent_body(struct e2e *x, size_t i)
{
    const struct core_http_script_request *r = core_http_script_request(x->s, i);
    return r && r->body ? r->body : "";
}

struct got {
    int done;
    int calls;
    int rc;
    struct core_err err;
    size_t n;
    char ids[8][32];
    size_t nerrors;
    int capacity;
};

static void got_error(struct got *g, int rc, const struct core_err *err)
{
    g->done = 1;
    g->calls++;
    g->rc = rc;
    if (err)
        g->err = *err;
}

static void on_instances(void *ud, int rc, const struct aws_ec2_instances *res,
                         const struct core_err *err)
{
    struct got *g = ud;
    got_error(g, rc, err);
    CU_ASSERT_EQUAL(rc == 0, res != NULL);
    if (!res)
        return;
    g->n = res->n;
    for (size_t i = 0; i < res->n && i < 8; i++)
        core_strlcpy(g->ids[i], res->v[i].instance_id, sizeof g->ids[i]);
}

static void on_fleet(void *ud, int rc, const struct aws_ec2_fleet *res, const struct core_err *err)
{
    struct got *g = ud;
    got_error(g, rc, err);
    if (!res)
        return;
    g->n = res->ninstances;
    g->nerrors = res->nerrors;
    for (size_t i = 0; i < res->nerrors; i++)
        g->capacity += aws_ec2_fleet_error_is_capacity(&res->errors[i]);
}

static void on_done(void *ud, int rc, const struct core_err *err)
{
    got_error(ud, rc, err);
}

static void test_call_pagination(void)
{
    struct e2e x;
    struct got g = {0};
    struct core_err err;
    const char *states[] = {"running"};
    struct aws_ec2_filter f = {"instance-state-name", states, 1};
    struct aws_ec2_describe_instances_req req = {.filters = &f, .nfilters = 1,
                                                 .max_results = 500};
    const char *want1 = "Action=DescribeInstances&Version=2016-11-15"
                        "&Filter.1.Name=instance-state-name&Filter.1.Value.1=running"
                        "&MaxResults=500";

    CU_ASSERT_EQUAL_FATAL(e2e_setup(&x), 0);
    expect_answer(&x, 200, "DescribeInstances.xml", NULL);
    expect_answer(&x, 200, "DescribeInstances-2.xml", NULL);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_instances(x.c, &req, on_instances, &g, &err), 0);
    CU_ASSERT_EQUAL(g.calls, 0); /* never from inside the call */
    e2e_run(&x, &g.done);
    CU_ASSERT_EQUAL(g.calls, 1);
    CU_ASSERT_EQUAL(g.rc, 0);
    CU_ASSERT_EQUAL(g.n, 4);
    CU_ASSERT_STRING_EQUAL(g.ids[0], "i-0aaaaaaaaaaaaaaa1");
    CU_ASSERT_STRING_EQUAL(g.ids[2], "i-0aaaaaaaaaaaaaaa3");
    CU_ASSERT_STRING_EQUAL(g.ids[3], "i-0aaaaaaaaaaaaaaa4");
    CU_ASSERT_EQUAL(core_http_script_nrequests(x.s), 2);
    CU_ASSERT_EQUAL(core_http_script_pending(x.s), 0);
    CU_ASSERT_STRING_EQUAL(sent_body(&x, 0), want1);
    {
        char want2[512];
        snprintf(want2, sizeof want2, "%s&NextToken=eyJ2IjoiMiIsImMiOiJwYWdlMiJ9", want1);
        CU_ASSERT_STRING_EQUAL(sent_body(&x, 1), want2);

        /* Three pages: each later request carries exactly one NextToken, the latest. */
        memset(&g, 0, sizeof g);
        expect_answer(&x, 200, "DescribeInstances.xml", NULL);
        expect_answer(&x, 200, "DescribeInstances.xml", NULL);
        expect_answer(&x, 200, "DescribeInstances-2.xml", NULL);
        CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_instances(x.c, &req, on_instances, &g, &err), 0);
        e2e_run(&x, &g.done);
        CU_ASSERT_EQUAL(g.rc, 0);
        CU_ASSERT_EQUAL(g.n, 7);
        CU_ASSERT_EQUAL(core_http_script_nrequests(x.s), 5);
        CU_ASSERT_STRING_EQUAL(sent_body(&x, 2), want1);
        CU_ASSERT_STRING_EQUAL(sent_body(&x, 3), want2);
        CU_ASSERT_STRING_EQUAL(sent_body(&x, 4), want2);
    }
    e2e_teardown(&x);
}

static void test_call_max_pages(void)
{
    struct e2e x;
    struct got g = {0};
    struct core_err err;
    struct aws_ec2_describe_instances_req req = {.max_pages = 1};

    /* One page allowed, the answer says there is another: CORE_E_TOOBIG, no second request. */
    CU_ASSERT_EQUAL_FATAL(e2e_setup(&x), 0);
    expect_answer(&x, 200, "DescribeInstances.xml", NULL);
    expect_answer(&x, 200, "DescribeInstances-2.xml", NULL);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_instances(x.c, &req, on_instances, &g, &err), 0);
    e2e_run(&x, &g.done);
    CU_ASSERT_EQUAL(g.calls, 1);
    CU_ASSERT_EQUAL(g.rc, CORE_E_TOOBIG);
    CU_ASSERT_STRING_EQUAL(g.err.message, "DescribeInstances: more than 1 pages of results");
    CU_ASSERT_EQUAL(core_http_script_nrequests(x.s), 1);
    e2e_teardown(&x);

    /* Exactly as many pages as allowed is fine. */
    memset(&g, 0, sizeof g);
    req.max_pages = 2;
    CU_ASSERT_EQUAL_FATAL(e2e_setup(&x), 0);
    expect_answer(&x, 200, "DescribeInstances.xml", NULL);
    expect_answer(&x, 200, "DescribeInstances-2.xml", NULL);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_instances(x.c, &req, on_instances, &g, &err), 0);
    e2e_run(&x, &g.done);
    CU_ASSERT_EQUAL(g.rc, 0);
    CU_ASSERT_EQUAL(g.n, 4);
    e2e_teardown(&x);
}

/* The request lives in memory the caller frees right after the call: every page is still sent
 * with its content (ASan would see a read of the freed memory). */

/* Freeing the client between two pages completes the call once, with CORE_E_CANCELLED, and
 * releases the half-merged result (LSan would report it otherwise). */
static void test_call_cancelled_between_pages(void)
{
    struct e2e x;
    struct got g = {0};
    struct core_err err;
    struct aws_ec2_describe_instances_req req = {.max_results = 500};
    struct core_http_script_step late = {.method = "POST", .url = "http://ec2.test*",
                                         .status = 200, .body = "<x/>", .delay = 60 * S};

    CU_ASSERT_EQUAL_FATAL(e2e_setup(&x), 0);
    expect_answer(&x, 200, "DescribeInstances.xml", NULL);
    CU_ASSERT_EQUAL(core_http_script_expect(x.s, &late), 0);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_instances(x.c, &req, on_instances, &g, &err), 0);
    while (core_http_script_nrequests(x.s) < 2)
        CU_ASSERT_FATAL(core_loop_run_once(x.loop, -1, &err) > 0);
    CU_ASSERT_EQUAL(g.calls, 0);
    aws_client_free(x.c);
    x.c = NULL;
    CU_ASSERT_EQUAL(g.calls, 1);
    CU_ASSERT_EQUAL(g.rc, CORE_E_CANCELLED);
    e2e_teardown(&x);
}

static void test_call_copies_request(void)
{
    struct e2e x;
    struct got g = {0};
    struct core_err err;
    char *name = core_strdup("tag:stoker.dev/nodepool");
    char *value = core_strdup("gpu");
    const char **values = core_malloc(sizeof *values);
    struct aws_ec2_filter *f = core_malloc(sizeof *f);
    struct aws_ec2_describe_instances_req *req = core_calloc(1, sizeof *req);

    CU_ASSERT_FATAL(name && value && values && f && req);
    values[0] = value;
    *f = (struct aws_ec2_filter){name, values, 1};
    req->filters = f;
    req->nfilters = 1;
    CU_ASSERT_EQUAL_FATAL(e2e_setup(&x), 0);
    expect_answer(&x, 200, "DescribeInstances.xml", NULL);
    expect_answer(&x, 200, "DescribeInstances-2.xml", NULL);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_instances(x.c, req, on_instances, &g, &err), 0);
    memset(name, 'X', strlen(name));
    core_free(name);
    core_free(value);
    core_free(values);
    core_free(f);
    core_free(req);
    e2e_run(&x, &g.done);
    CU_ASSERT_EQUAL(g.rc, 0);
    CU_ASSERT_EQUAL(g.n, 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(sent_body(&x, 1),
                                  "&Filter.1.Name=tag%3Astoker.dev%2Fnodepool&Filter.1.Value.1=gpu"
                                  "&NextToken="));
    e2e_teardown(&x);
}

static void test_call_errors(void)
{
    struct e2e x;
    struct got g = {0};
    struct core_err err;
    struct aws_ec2_describe_instances_req req = {0};
    struct aws_ec2_run_instances_req bad = {.image_id = "ami-1"};
    const char *svc_err = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error>"
                          "<Code>InvalidParameterValue</Code><Message>Value (x) for parameter "
                          "instanceType is invalid.</Message></Error></Errors>"
                          "<RequestID>req-0001</RequestID></Response>";

    CU_ASSERT_EQUAL_FATAL(e2e_setup(&x), 0);
    /* A bad request is refused at once: no request, no callback. */
    CU_ASSERT_EQUAL(aws_ec2_run_instances(x.c, &bad, on_instances, &g, &err), CORE_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "RunInstances: MinCount"));
    CU_ASSERT_EQUAL(aws_ec2_describe_instances(x.c, &req, NULL, &g, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(aws_ec2_describe_instances(NULL, &req, on_instances, &g, &err),
                    CORE_E_INVAL);
    CU_ASSERT_EQUAL(aws_ec2_describe_instances(x.c, NULL, on_instances, &g, &err),
                    CORE_E_INVAL);

    /* A service error passes through with its code and request id. */
    expect_answer(&x, 400, NULL, svc_err);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_instances(x.c, &req, on_instances, &g, &err), 0);
    e2e_run(&x, &g.done);
    CU_ASSERT_EQUAL(g.calls, 1);
    CU_ASSERT_EQUAL(g.rc, CORE_E_SERVICE);
    CU_ASSERT_STRING_EQUAL(g.err.service_code, "InvalidParameterValue");
    CU_ASSERT_STRING_EQUAL(g.err.request_id, "req-0001");

    /* A 200 answer that is a proxy's HTML page: a decode error, not a crash. */
    memset(&g, 0, sizeof g);
    expect_answer(&x, 200, "bad/proxy-502.html", NULL);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_instances(x.c, &req, on_instances, &g, &err), 0);
    e2e_run(&x, &g.done);
    CU_ASSERT_EQUAL(g.rc, CORE_E_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(g.err.message, "DescribeInstances"));
    CU_ASSERT_EQUAL(core_http_script_unexpected(x.s), 0);
    e2e_teardown(&x);
}

static void test_call_retry_not_found(void)
{
    const char *nf = "<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code>"
                     "<Message>The instance ID 'i-1' does not exist</Message></Error></Errors>"
                     "<RequestID>req-nf</RequestID></Response>";
    const char *ids[] = {"i-0aaaaaaaaaaaaaaa4"};

    for (int retry = 0; retry < 2; retry++) {
        struct e2e x;
        struct got g = {0};
        struct core_err err;
        struct aws_ec2_describe_instances_req req = {.instance_ids = ids, .ninstance_ids = 1,
                                                     .retry_not_found = retry};
        CU_ASSERT_EQUAL_FATAL(e2e_setup(&x), 0);
        expect_answer(&x, 400, NULL, nf);
        expect_answer(&x, 200, "DescribeInstances-2.xml", NULL);
        CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_instances(x.c, &req, on_instances, &g, &err), 0);
        e2e_run(&x, &g.done);
        if (retry) {
            CU_ASSERT_EQUAL(g.rc, 0);
            CU_ASSERT_EQUAL(g.n, 1);
            CU_ASSERT_EQUAL(core_http_script_nrequests(x.s), 2);
        } else {
            CU_ASSERT_EQUAL(g.rc, CORE_E_NOTFOUND);
            CU_ASSERT_STRING_EQUAL(g.err.service_code, "InvalidInstanceID.NotFound");
            CU_ASSERT_EQUAL(core_http_script_nrequests(x.s), 1);
        }
        e2e_teardown(&x);
    }
}

static void test_call_single_actions(void)
{
    struct e2e x;
    struct got g = {0};
    struct core_err err;
    struct aws_ec2_fleet_override ov = {"g5.xlarge", "subnet-0c", NULL, NULL, NULL, 0, 0};
    struct aws_ec2_fleet_template_config cfg = {"lt-0fedcba9876543210", NULL, "1", &ov, 1};
    struct aws_ec2_create_fleet_req fleet = {&cfg, 1, 2, "on-demand", "lowest-price", NULL,
                                             NULL, 0, "nc-1"};
    const char *res[] = {"i-1"};
    struct aws_ec2_tag t = {"stoker.dev/claimed", "true"};
    struct aws_ec2_create_tags_req tags = {res, 1, &t, 1};

    CU_ASSERT_EQUAL_FATAL(e2e_setup(&x), 0);
    expect_answer(&x, 200, "CreateFleet.xml", NULL);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_create_fleet(x.c, &fleet, on_fleet, &g, &err), 0);
    e2e_run(&x, &g.done);
    CU_ASSERT_EQUAL(g.rc, 0);
    CU_ASSERT_EQUAL(g.n, 1);
    CU_ASSERT_EQUAL(g.nerrors, 2);
    CU_ASSERT_EQUAL(g.capacity, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(sent_body(&x, 0), "Action=CreateFleet&Version=2016-11-15&Type=instant"));
    CU_ASSERT_PTR_NULL(strstr(sent_body(&x, 0), "NextToken"));

    memset(&g, 0, sizeof g);
    expect_answer(&x, 200, "CreateTags.xml", NULL);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_create_tags(x.c, &tags, on_done, &g, &err), 0);
    e2e_run(&x, &g.done);
    CU_ASSERT_EQUAL(g.rc, 0);
    CU_ASSERT_STRING_EQUAL(sent_body(&x, 1),
                           "Action=CreateTags&Version=2016-11-15&ResourceId.1=i-1"
                           "&Tag.1.Key=stoker.dev%2Fclaimed&Tag.1.Value=true");

    /* The wrong answer for the action is an error through the callback. */
    memset(&g, 0, sizeof g);
    expect_answer(&x, 200, "CreateTags.xml", NULL);
    {
        struct aws_ec2_modify_instance_attribute_req mod = {"i-1", "x", 1};
        CU_ASSERT_EQUAL_FATAL(aws_ec2_modify_instance_attribute(x.c, &mod, on_done, &g, &err),
                              0);
    }
    e2e_run(&x, &g.done);
    CU_ASSERT_EQUAL(g.rc, CORE_E_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(g.err.message, "ModifyInstanceAttribute"));
    e2e_teardown(&x);
}

TESTS_SUITE(aws_ec2, "aws_ec2", NULL, NULL, TESTS_CASE(test_call_cancelled_between_pages),
            TESTS_CASE(test_encode_describe_instances), TESTS_CASE(test_encode_describe_others),
            TESTS_CASE(test_encode_launch_templates), TESTS_CASE(test_encode_create_fleet),
            TESTS_CASE(test_encode_run_instances), TESTS_CASE(test_encode_instance_actions),
            TESTS_CASE(test_encode_limits_accepted), TESTS_CASE(test_encode_validation),
            TESTS_CASE(test_encode_alloc_failures),
            TESTS_CASE(test_decode_describe_instances_pages),
            TESTS_CASE(test_decode_instance_types), TESTS_CASE(test_decode_catalog_actions),
            TESTS_CASE(test_decode_create_fleet_partial),
            TESTS_CASE(test_decode_instance_actions), TESTS_CASE(test_decode_errors),
            TESTS_CASE(test_decode_alloc_failures), TESTS_CASE(test_call_pagination),
            TESTS_CASE(test_call_max_pages), TESTS_CASE(test_call_copies_request),
            TESTS_CASE(test_call_errors), TESTS_CASE(test_call_retry_not_found),
            TESTS_CASE(test_call_single_actions))
